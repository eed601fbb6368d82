// nat/impl/connector.hpp
// ~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_NAT_IMPL_CONNECTOR_HPP
#define MESHKIT_NAT_IMPL_CONNECTOR_HPP

#include <meshkit/nat/connector.hpp>

#include <meshkit/discovery/cached_peer.hpp>
#include <meshkit/error.hpp>

#include <algorithm>
#include <numeric>
#include <chrono>

namespace meshkit::nat {

// -- operations ----------------------------------------------------------------------

template <class Ctx>
std::error_code connector::connect(Ctx& ctx, node_id const& peer)
{
    if (peer == ctx.self())
        return nat::errc::unknown_peer;
    if (auto it = links_.find(peer); it != links_.end()) {
        if (!it->second.initiated) {
            it->second.initiated = true;
            it->second.started = ctx.now();
        }
        return {};
    }
    if (links_.size() >= cfg_.max_connections)
        return nat::errc::connection_limit;
    discovery::cached_peer const* record = ctx.discovery().find(peer);
    if (!record || record->addresses.empty())
        return nat::errc::unknown_peer;
    link& l = add_link(ctx, peer);
    l.target = record->addresses.back();
    l.peer_nat = record->nat;
    l.initiated = true;
    begin_direct(ctx, l);
    return {};
}

template <class Ctx>
std::error_code connector::send(Ctx& ctx, node_id const& peer, std::span<std::byte const> payload)
{
    auto it = links_.find(peer);
    if (it == links_.end())
        return nat::errc::not_connected;
    if (payload.size() > cfg_.max_payload)
        return meshkit::errc::message_too_large;
    link& l = it->second;
    if (!l.channel.push(payload, cfg_.max_pending_messages))
        return meshkit::errc::queue_full;
    if (established(l))
        l.channel.send_newest(ctx.now(), data_sender(ctx, l));
    return {};
}

// -- engine hooks --------------------------------------------------------------------

template <class Ctx>
void connector::start(Ctx& ctx)
{
    ctx.set_timer(cfg_.tick, tick_tag);
    pool_.start(ctx.now());
    pool_.want(ctx, introducer_sessions(), [&] { return isolated(); });
}

template <class Ctx>
void connector::add_candidate(Ctx& ctx, endpoint const& address)
{
    // A peer we hold a link with by another path (a relay, a punched mapping) is
    // reached through the ladder; probing its advertised address is pointless.
    // One linked at this very address is adopted as an introducer below.
    auto const linked_elsewhere = [&](node_id const& id) {
        auto it = links_.find(id);
        return it != links_.end() && it->second.path != address;
    };
    if (!pool_.admits(ctx, address, linked_elsewhere))
        return;
    for (auto& [id, l] : links_) {
        if (l.path == address && !l.introducer) {
            // A peer that connected to us is public to us too: adopt it as an introducer, and
            // probe it, so that a node nobody answers first (a lone bootstrap) learns its address.
            l.introducer = true;
            l.initiated = true;
            l.nonce = fresh_nonce(ctx);
            l.probe_sent = ctx.now();
            l.last_keepalive = ctx.now();
            ctx.send(address, nt_probe{l.nonce});
            return;
        }
        if (l.path == address || l.target == address)
            return;
    }
    pool_.probe(ctx, address);
}

template <class Ctx>
void connector::on_unreachable(Ctx& ctx, endpoint const& address)
{
    // ICMP "port unreachable": the process behind that address is gone.
    pool_.unreachable(ctx, address);
    for (auto& [id, l] : links_)
        if (l.path == address && l.ph == phase::established)
            l.last_heard = ctx.now() - cfg_.connection_timeout - cfg_.tick; // down at the next tick
}

template <class Ctx>
void connector::on_message(Ctx& ctx, inbound const& in, nt_probe const& m)
{
    node_id const& from = in.header.sender;
    auto it = links_.find(from);
    // Whether our own burst at the prober had fired: then its probe may have come through that hole.
    bool const after_punch = it != links_.end() && it->second.fire_at <= ctx.now();
    ctx.send(in.from, nt_probe_ack{m.nonce, in.from, after_punch});
    if (from == ctx.self() || in.header.hops != 0)
        return;
    if (it == links_.end()) {
        if (links_.size() >= cfg_.max_connections)
            return;
        link& l = add_link(ctx, from);
        l.target = in.from;
        establish(ctx, l, in.from, link_method::direct);
        if (!observed_.best()) {
            // Nobody has told us our address yet (a lone bootstrap, whose peers
            // all dial in): ask this one. Until we know it, our record carries
            // no address, and nobody can name us as their introducer or relay.
            l.nonce = fresh_nonce(ctx);
            l.probe_sent = ctx.now();
            ctx.send(in.from, nt_probe{l.nonce});
        }
        return;
    }
    link& l = it->second;
    if (l.path.is_unspecified())
        establish(ctx, l, in.from,
                  l.reversal || l.ph == phase::direct ? link_method::direct : link_method::punched);
    else if (l.path == in.from)
        l.last_heard = ctx.now();
}

template <class Ctx>
void connector::on_message(Ctx& ctx, inbound const& in, nt_probe_ack const& m)
{
    node_id const& from = in.header.sender;
    if (m.nonce == 0 || from == ctx.self())
        return;
    if (auto const rtt = pool_.answered(ctx.now(), m.nonce, in.from)) {
        observe(ctx, from, in.from, m.observed);
        adopt_introducer(ctx, from, in.from, *rtt);
        return;
    }
    auto it = links_.find(from);
    if (it == links_.end() || (it->second.nonce != m.nonce && it->second.direct_nonce != m.nonce))
        return;
    link& l = it->second;
    if (l.probe_sent != time_point::min() && l.probe_sent <= ctx.now())
        l.rtt.sample(ctx.now() - l.probe_sent);
    observe(ctx, from, in.from, m.observed);
    if (l.path.is_unspecified()) {
        // The peer says whether our probe reached it before or after its own
        // punch fired: before, its NAT admitted a stranger, and the path is
        // direct whatever raced beside it.
        // A path through a birthday hit is punched, whatever the peer saw.
        bool const unsolicited = !m.after_punch && !l.reversal && !l.birthday_hit && m.nonce == l.direct_nonce;
        bool const punched = l.birthday_hit || (m.after_punch && !l.reversal);
        establish(ctx, l, in.from, punched ? link_method::punched : link_method::direct);
        if (unsolicited)
            note_public(ctx, from, in.from, l.rtt.smoothed());
    } else if (l.path == in.from) {
        l.last_heard = ctx.now();
    }
}

template <class Ctx>
void connector::on_message(Ctx& ctx, inbound const& in, nt_keepalive const& m)
{
    ctx.send(in.from, nt_probe_ack{m.nonce, in.from});
    if (auto it = links_.find(in.header.sender); it != links_.end() && it->second.path == in.from)
        it->second.last_heard = ctx.now();
}

template <class Ctx>
void connector::on_message(Ctx& ctx, inbound const& in, nt_punch_request const& m)
{
    auto target = party_of(m.target);
    if (discovery::cached_peer const* record = ctx.discovery().find(m.target))
        target.nat = record->nat;
    coordinator_.on_request(ctx, in, m, target, party_of(in.header.sender), stats_);
}

template <class Ctx>
void connector::on_message(Ctx& ctx, inbound const& in, nt_punch_me_now const& m)
{
    if (m.peer == ctx.self() || m.predicted_ports.size() > cfg_.predicted_ports)
        return;
    auto it = links_.find(m.peer);
    if (it != links_.end()) {
        link& l = it->second;
        // The requester accepts only the intermediaries it asked.
        bool const asked = std::find(l.intermediaries.begin(), l.intermediaries.end(), in.from) != l.intermediaries.end();
        if (!asked && !is_session(in.from))
            return;
        if (!l.path.is_unspecified())
            return; // already direct: nothing to punch
        l.target = m.address; // the intermediary's view of the peer is the freshest
        if (!m.predicted_ports.empty() || asked)
            l.peer_ports = m.predicted_ports;
        l.fire_at = ctx.now() + std::chrono::microseconds(m.fire_in_us);
        plan_birthday(l, m);
        schedule_fire(ctx, l, m.fire_in_us);
        if (!asked)
            send_own_prediction(ctx, l, in.from, m.round);
        return;
    }
    // The target side: only an introducer we hold a session with may make us fire.
    if (!is_session(in.from) || links_.size() >= cfg_.max_connections)
        return;
    link& l = add_link(ctx, m.peer);
    l.target = m.address;
    l.peer_ports = m.predicted_ports;
    l.ph = phase::punching;
    l.phase_since = ctx.now();
    l.nonce = fresh_nonce(ctx);
    l.fire_at = ctx.now() + std::chrono::microseconds(m.fire_in_us);
    plan_birthday(l, m);
    schedule_fire(ctx, l, m.fire_in_us);
    send_own_prediction(ctx, l, in.from, m.round);
}

template <class Ctx>
void connector::on_message(Ctx& ctx, inbound const& in, nt_connect_back const& m)
{
    // Only an introducer we hold a session with may make us probe someone,
    // and only the requester whose address it saw: a few probes, no amplification.
    if (m.peer == ctx.self() || m.address.is_unspecified() || !is_session(in.from))
        return;
    auto it = links_.find(m.peer);
    if (it != links_.end() && !it->second.path.is_unspecified())
        return; // already connected
    if (it == links_.end()) {
        if (links_.size() >= cfg_.max_connections)
            return;
        link& l = add_link(ctx, m.peer);
        l.ph = phase::punching; // as the target of a punch: answer, and forget it after the budget
        l.phase_since = ctx.now();
        it = links_.find(m.peer);
    }
    link& l = it->second;
    l.target = m.address;
    l.peer_ports.clear();
    l.reversal = true;
    l.fire_at = ctx.now();
    l.burst_left = cfg_.punch_probes;
    burst(ctx, l);
}

template <class Ctx>
void connector::on_message(Ctx& ctx, inbound const& in, nt_punch_refused const& m)
{
    auto it = links_.find(m.target);
    if (it == links_.end() || it->second.intermediary != in.from ||
        (it->second.ph != phase::punching && it->second.ph != phase::relaying))
        return;
    request_round(ctx, it->second); // the next intermediary, during a punch or an upgrade attempt
}

template <class Ctx>
void connector::on_message(Ctx& ctx, inbound const& in, nt_relay_open const& m)
{
    auto t = links_.find(m.target);
    relay_.open(ctx, in, m, t != links_.end() ? t->second.path : endpoint{}, stats_);
}

template <class Ctx>
void connector::on_message(Ctx& ctx, inbound const& in, nt_relay_reply const& m)
{
    auto it = links_.find(m.target);
    if (it == links_.end() || it->second.ph != phase::relaying || it->second.relay != in.from ||
        it->second.relay_confirmed)
        return;
    link& l = it->second;
    if (!m.accepted) {
        l.tried_relays.push_back(l.relay);
        begin_relay(ctx, l);
        return;
    }
    l.relay_confirmed = true;
    l.relay_heard = ctx.now();
    l.last_relay_keepalive = ctx.now();
    l.next_upgrade = ctx.now() + cfg_.upgrade_interval;
    // The connection is up when the peer answers through the relay, not when the relay says yes.
    send_frame(ctx, l, frame_kind::keepalive, 0, {});
    if (l.method == link_method::relayed && l.reported_up) {
        if (!l.renewing)
            ++stats_.failovers; // a new relay for a connection that was already relayed
        stats_.retransmissions += l.channel.send_all(ctx.now(), data_sender(ctx, l));
    }
    l.renewing = false;
}

template <class Ctx>
void connector::on_message(Ctx& ctx, inbound const& in, nt_relay_closed const& m)
{
    // Our relay spent the session's quota: ask it for a new one. Unacknowledged
    // messages go again once it answers (as after a failover); if it refuses,
    // the reply moves us on to another relay.
    auto it = links_.find(m.target);
    if (it == links_.end() || it->second.ph != phase::relaying || it->second.relay != in.from ||
        !it->second.relay_confirmed || !it->second.initiated)
        return;
    link& l = it->second;
    ++stats_.relay_renewals;
    l.renewing = true;
    l.relay_confirmed = false;
    l.relay_asked = ctx.now();
    ctx.send(l.relay, nt_relay_open{l.peer});
}

template <class Ctx>
void connector::on_message(Ctx& ctx, inbound const& in, nt_relay_frame const& m)
{
    if (m.payload.size() > cfg_.max_payload)
        return;
    // As the relay: forward between the two ends of a session.
    auto const path_of = [&](node_id const& id) -> endpoint const* {
        auto it = links_.find(id);
        return it == links_.end() ? nullptr : &it->second.path;
    };
    if (relay_.forward(ctx, in, m, path_of, stats_))
        return;
    // As an end: accept frames only from the relay we asked, or from a
    // session peer relaying for someone who asked it.
    if (m.peer == ctx.self())
        return;
    auto it = links_.find(m.peer);
    bool const our_relay = it != links_.end() && it->second.relay_confirmed && it->second.relay == in.from;
    if (!our_relay && !is_session(in.from))
        return;
    if (it == links_.end()) {
        if (links_.size() >= cfg_.max_connections || m.kind != frame_kind::keepalive)
            return;
        link& l = add_link(ctx, m.peer);
        l.ph = phase::relaying;
        l.relay = in.from;
        l.relay_confirmed = true;
        l.relay_verified = true;
        l.relay_heard = ctx.now();
        establish_relayed(ctx, l);
        it = links_.find(m.peer);
    }
    link& l = it->second;
    if (!l.initiated) {
        l.relay = in.from; // follow the initiator's failover
        l.relay_confirmed = true;
        if (l.path.is_unspecified() && l.ph != phase::relaying) {
            // The target of a punch that failed: the initiator's first frame
            // through a relay proves that path end to end. Take it now, so
            // both sides report the connection and can send at once, rather
            // than when our side of the punch times out.
            l.ph = phase::relaying;
            l.phase_since = ctx.now();
            l.relay_verified = false;
        }
    }
    if (l.relay == in.from) {
        l.relay_heard = ctx.now();
        if (!l.relay_verified && l.ph == phase::relaying) {
            l.relay_verified = true; // the first frame from the peer: the relayed path works end to end
            if (!(l.reported_up && l.method == link_method::relayed)) {
                establish_relayed(ctx, l);
            } else if (!l.failed_relay.is_unspecified()) {
                ctx.emit(relay_failover{l.peer, l.failed_relay, l.relay, ctx.now() - l.failed_relay_heard});
                l.failed_relay = {};
            }
        }
    }
    l.last_heard = ctx.now();
    switch (m.kind) {
    case frame_kind::keepalive: ctx.send(in.from, nt_relay_frame{m.peer, frame_kind::keepalive_ack, 0, 0, {}}); break;
    case frame_kind::keepalive_ack: break;
    case frame_kind::data:
        if (deliver(ctx, l, m.session, m.seq, m.payload))
            ctx.send(in.from, nt_relay_frame{m.peer, frame_kind::data_ack, m.session, m.seq, {}});
        break;
    case frame_kind::data_ack: acknowledge(l, m.session, m.seq); break;
    }
}

template <class Ctx>
void connector::on_message(Ctx& ctx, inbound const& in, nt_data const& m)
{
    auto it = links_.find(in.header.sender);
    if (it == links_.end() || it->second.path != in.from || m.payload.size() > cfg_.max_payload)
        return;
    it->second.last_heard = ctx.now();
    if (deliver(ctx, it->second, m.session, m.seq, m.payload))
        ctx.send(in.from, nt_data_ack{m.session, m.seq});
}

template <class Ctx>
void connector::on_message(Ctx& ctx, inbound const& in, nt_data_ack const& m)
{
    auto it = links_.find(in.header.sender);
    if (it == links_.end() || it->second.path != in.from)
        return;
    it->second.last_heard = ctx.now();
    acknowledge(it->second, m.session, m.seq);
}

template <class Ctx>
void connector::on_timer(Ctx& ctx, std::uint64_t tag)
{
    if (tag == tick_tag) {
        ctx.set_timer(cfg_.tick, tick_tag);
        tick(ctx);
        return;
    }
    auto f = fires_.find(tag);
    if (f == fires_.end())
        return;
    node_id const peer = f->second;
    fires_.erase(f);
    if (auto it = links_.find(peer); it != links_.end() && it->second.path.is_unspecified()) {
        it->second.burst_left = cfg_.punch_probes;
        burst(ctx, it->second);
        start_birthday(ctx, it->second);
    }
}

template <class Ctx>
void connector::on_birthday_hit(Ctx& ctx, endpoint const& from, std::uint64_t token)
{
    // The transport checked the token against the one its socket was opened
    // with. A later round may have replaced the link's token while an
    // earlier round's sockets were still open, so the peer's address
    // identifies the link as well as the current token does.
    for (auto& [id, l] : links_) {
        if (l.birthday != link::birthday_part::open_sockets || !l.path.is_unspecified() ||
            (l.birthday_token != token && l.target.ip != from.ip))
            continue;
        // The transport now sends to `from` through the socket the peer's probe found:
        // our probes leave through the one mapping its NAT admits.
        ++stats_.birthday_hits;
        l.birthday_hit = true;
        l.target = from;
        l.peer_ports.clear();
        if (l.nonce == 0)
            l.nonce = fresh_nonce(ctx);
        l.burst_left = cfg_.punch_probes;
        burst(ctx, l);
        return;
    }
}

// -- links and the ladder ------------------------------------------------------------

/// A new link with `peer`, started now, with a reliable channel under a fresh session number.
template <class Ctx>
connector::link& connector::add_link(Ctx& ctx, node_id const& peer)
{
    link& l = links_[peer];
    l.peer = peer;
    l.started = ctx.now();
    l.backoff = cfg_.backoff_initial;
    l.channel = reliable_channel(ctx.rng()() | 1);
    return l;
}

template <class Ctx>
void connector::begin_direct(Ctx& ctx, link& l)
{
    ++l.attempts;
    l.ph = phase::direct;
    l.phase_since = ctx.now();
    l.path = {};
    l.relay_confirmed = false;
    l.relay_verified = false;
    l.intermediaries.clear();
    l.round = 0;
    l.fire_at = time_point::max();
    l.reversal = false;
    l.birthday_hit = false;
    l.birthday = link::birthday_part::none;
    l.birthday_token = 0;
    l.birthday_left = 0;
    l.direct_nonce = fresh_nonce(ctx);
    l.direct_until = ctx.now() + cfg_.direct_timeout;
    probe_direct(ctx, l, ctx.now(), true);
    if (races(ctx, l))
        race(ctx, l);
}

/// Race, don't queue: the next rung starts now, and the direct probes go on beside it.
template <class Ctx>
void connector::race(Ctx& ctx, link& l)
{
    ++stats_.raced;
    // The record may have learned the peer's NAT since the connection began.
    if (discovery::cached_peer const* record = ctx.discovery().find(l.peer); record && record->nat != nat_type::unknown)
        l.peer_nat = record->nat;
    bool const peer_symmetric = l.peer_nat == nat_type::symmetric, own_symmetric = announced_nat_ == nat_type::symmetric;
    // A public node's reversed connection works whatever the target's NAT: no relay needed.
    if ((!peer_symmetric && !own_symmetric) || announced_nat_ == nat_type::open) {
        begin_punch(ctx, l);
        return;
    }
    // A symmetric NAT on either side: the punch may well fail (a random
    // symmetric NAT facing a port-filtering one), and waiting for its
    // rounds to run out is what made relayed connections slow. So the
    // relay is raced too, and a punch that lands later upgrades the
    // connection. Two symmetric NATs: no probe can match a mapping
    // (docs/nat-traversal.md), only the relay.
    begin_relay(ctx, l);
    if (l.ph == phase::relaying && !(peer_symmetric && own_symmetric)) {
        l.punch_started = ctx.now();
        l.round = 0;
        request_round(ctx, l);
    }
}

/** Whether to start the punch (or the relay) at once, beside the direct probes.

    Never for a peer known to admit strangers: its record says it is
    public, or it answered an unsolicited probe of ours before (the seed's
    rule: never punch a directly reachable peer). Otherwise the peer's NAT
    may filter, and nothing we can observe says whether it does; so race,
    when the peer names an introducer we could ask.
*/
template <class Ctx>
bool connector::races(Ctx& ctx, link const& l)
{
    if (l.peer_nat == nat_type::open)
        return false;
    discovery::cached_peer const* record = ctx.discovery().find(l.peer);
    if (!record || record->publicly_reachable || record->nat == nat_type::open)
        return false;
    return pick_introducer(ctx, l.peer, {}).has_value();
}

/// A direct probe, while the direct attempt lasts (`direct_timeout` from the start of the pass).
template <class Ctx>
void connector::probe_direct(Ctx& ctx, link& l, time_point now, bool first)
{
    if (!first && (!l.path.is_unspecified() || now >= l.direct_until || now - l.last_direct_probe < cfg_.probe_interval))
        return;
    l.last_direct_probe = now;
    probe(ctx, l, l.target, l.direct_nonce);
}

template <class Ctx>
void connector::probe(Ctx& ctx, link& l, endpoint const& to, std::uint64_t nonce)
{
    if (l.probe_sent == time_point::min())
        l.probe_sent = ctx.now();
    // A forged record can name any address for l.peer: a secure transport
    // then refuses whoever answers there with another key.
    if (!l.peer.is_zero())
        ctx.expect_peer(to, l.peer);
    ctx.send(to, nt_probe{nonce});
}

template <class Ctx>
void connector::begin_punch(Ctx& ctx, link& l)
{
    l.ph = phase::punching;
    l.phase_since = ctx.now();
    l.punch_started = ctx.now();
    l.round = 0;
    l.intermediaries.clear();
    request_round(ctx, l);
}

/// Asks the next intermediary for a round, or moves on to a relay when the rounds or the budget are spent.
template <class Ctx>
void connector::request_round(Ctx& ctx, link& l)
{
    if (l.round >= cfg_.punch_rounds || ctx.now() - l.punch_started >= cfg_.punch_budget) {
        if (l.ph == phase::punching)
            begin_relay(ctx, l);
        return;
    }
    auto const pick = pick_introducer(ctx, l.peer, l.intermediaries);
    if (!pick) {
        if (l.ph == phase::punching)
            begin_relay(ctx, l);
        return;
    }
    l.intermediary = *pick;
    l.intermediaries.push_back(*pick);
    l.round_started = ctx.now();
    ++l.round;
    l.nonce = fresh_nonce(ctx);
    l.probe_sent = time_point::min();
    // A public node needs no punch: the intermediary asks the target to connect back.
    l.reversal = announced_nat_ == nat_type::open;
    std::vector<std::uint16_t> ports;
    if (announced_nat_ == nat_type::symmetric)
        ports = observed_.predicted_ports(cfg_.predicted_ports);
    ctx.send(*pick, nt_punch_request{l.peer, static_cast<std::uint8_t>(l.round), announced_nat_, std::move(ports)});
}

/** An introducer of `peer` not in `tried`: a public one first, then the nearest; nothing when every one was tried.

    Nearest by the round trip this node measured to it: on its own session
    with it, else in its cache entry; one never measured comes last. A
    punch costs 1.5 round trips to the intermediary, and every relayed
    frame crosses the relay, so a far one slows both for nothing.
*/
template <class Ctx>
std::optional<endpoint> connector::pick_introducer(Ctx& ctx, node_id const& peer, std::vector<endpoint> const& tried)
{
    discovery::cached_peer const* record = ctx.discovery().find(peer);
    if (!record || record->introducers.empty())
        return std::nullopt;
    std::optional<endpoint> best;
    int best_score = -1;
    duration best_rtt = duration::max();
    for (endpoint const& e : record->introducers) {
        if (e == ctx.local_endpoint() || std::find(tried.begin(), tried.end(), e) != tried.end())
            continue;
        int const score = is_public(ctx, e) ? 1 : 0;
        duration const rtt = rtt_to(ctx, e);
        if (score > best_score || (score == best_score && rtt < best_rtt)) {
            best = e;
            best_score = score;
            best_rtt = rtt;
        }
    }
    return best;
}

/// The round trip this node measured to `address`: on a session with it, else in the cache; `duration::max()` if never.
template <class Ctx>
duration connector::rtt_to(Ctx& ctx, endpoint const& address)
{
    for (auto const& [id, l] : links_)
        if (l.path == address && l.rtt.samples())
            return l.rtt.smoothed();
    for (auto const& p : ctx.discovery().peers())
        if (!p.addresses.empty() && p.addresses.back() == address && p.rtt_us > 0)
            return std::chrono::microseconds(p.rtt_us);
    return duration::max();
}

template <class Ctx>
bool connector::is_public(Ctx& ctx, endpoint const& address)
{
    for (auto const& p : ctx.discovery().peers())
        if (!p.addresses.empty() && p.addresses.back() == address)
            return p.nat == nat_type::open || p.publicly_reachable;
    return false;
}

/// Fires the punch burst after `fire_in_us`, as the intermediary timed it (at once when the timer table is full).
template <class Ctx>
void connector::schedule_fire(Ctx& ctx, link& l, std::uint32_t fire_in_us)
{
    if (fires_.size() >= cfg_.max_connections) {
        l.burst_left = cfg_.punch_probes;
        burst(ctx, l);
        return;
    }
    std::uint64_t const tag = next_fire_tag_++;
    fires_[tag] = l.peer;
    ctx.set_timer(std::chrono::microseconds(fire_in_us), tag);
}

template <class Ctx>
void connector::burst(Ctx& ctx, link& l)
{
    if (l.burst_left == 0)
        return;
    --l.burst_left;
    if (l.nonce == 0)
        l.nonce = fresh_nonce(ctx);
    l.last_probe = ctx.now();
    probe(ctx, l, l.target, l.nonce);
    for (std::uint16_t p : l.peer_ports)
        if (p != l.target.port)
            probe(ctx, l, endpoint{l.target.ip, p}, l.nonce);
}

/** Our part in the birthday probing an intermediary asked for, if any (at most `birthday_concurrent` at once).

    The side behind the symmetric NAT opens sockets; the other sprays
    ports. Both start when the punch fires.
*/
inline void connector::plan_birthday(link& l, nt_punch_me_now const& m)
{
    if (!cfg_.birthday || m.birthday_token == 0 || l.birthday_token == m.birthday_token)
        return;
    bool const own_symmetric = announced_nat_ == nat_type::symmetric, peer_symmetric = m.peer_nat == nat_type::symmetric;
    if (own_symmetric == peer_symmetric || announced_nat_ == nat_type::unknown)
        return;
    auto const busy = std::count_if(links_.begin(), links_.end(), [](auto const& kv) {
        return kv.second.birthday_left > 0 && kv.second.path.is_unspecified();
    });
    if (static_cast<std::size_t>(busy) >= cfg_.birthday_concurrent)
        return;
    l.birthday = own_symmetric ? link::birthday_part::open_sockets : link::birthday_part::spray;
    l.birthday_token = m.birthday_token;
    l.birthday_left = 0;
}

template <class Ctx>
void connector::start_birthday(Ctx& ctx, link& l)
{
    if (l.birthday == link::birthday_part::none || l.birthday_left > 0)
        return;
    ++stats_.birthday_punches;
    if (l.birthday == link::birthday_part::open_sockets) {
        stats_.birthday_sockets += ctx.open_birthday_sockets(l.target, l.birthday_token, cfg_.birthday_sockets);
        return;
    }
    // A walk over the whole range that visits no port twice: a stride coprime with its size.
    l.birthday_left = cfg_.birthday_probes;
    l.birthday_next = static_cast<std::uint32_t>(ctx.rng().below(birthday_port_span));
    do
        l.birthday_stride = static_cast<std::uint32_t>(1 + ctx.rng().below(birthday_port_span - 1));
    while (std::gcd(l.birthday_stride, birthday_port_span) != 1);
    spray(ctx, l);
}

/// The probes due this tick: `birthday_rate` a second, to random ports of the peer's address.
template <class Ctx>
void connector::spray(Ctx& ctx, link& l)
{
    using namespace std::chrono;
    auto const per_tick = std::max<std::size_t>(
        1, static_cast<std::size_t>(cfg_.birthday_rate * duration_cast<microseconds>(cfg_.tick).count() / 1'000'000));
    for (std::size_t i = 0; i < per_tick && l.birthday_left > 0; ++i, --l.birthday_left) {
        endpoint to = l.target;
        to.port = static_cast<std::uint16_t>(birthday_first_port + l.birthday_next);
        l.birthday_next = (l.birthday_next + l.birthday_stride) % birthday_port_span;
        if (ctx.send_birthday_probe(to, l.birthday_token)) {
            l.birthday_left = 0; // the transport cannot: stop
            return;
        }
        ++stats_.birthday_probes;
    }
}

/** Behind a symmetric NAT, the requester cannot know which port our probes will come from.

    RFC 5128's port prediction, target side: once per punch, tell the
    intermediary the ports a sequential allocator will hand out next, so
    it can pass them to the requester.
*/
template <class Ctx>
void connector::send_own_prediction(Ctx& ctx, link& l, endpoint const& intermediary, std::uint8_t round)
{
    if (announced_nat_ != nat_type::symmetric || l.predicted_for_round == round + 1u)
        return;
    l.predicted_for_round = round + 1u;
    ctx.send(intermediary, nt_punch_request{l.peer, round, announced_nat_, observed_.predicted_ports(cfg_.predicted_ports)});
}

template <class Ctx>
void connector::begin_relay(Ctx& ctx, link& l)
{
    l.ph = phase::relaying;
    l.phase_since = ctx.now();
    l.relay_confirmed = false;
    l.relay_verified = false;
    auto const pick = pick_introducer(ctx, l.peer, l.tried_relays);
    if (!pick) {
        fail_pass(ctx, l);
        return;
    }
    l.relay = *pick;
    l.relay_asked = ctx.now();
    ctx.send(*pick, nt_relay_open{l.peer});
}

template <class Ctx>
void connector::fail_pass(Ctx& ctx, link& l)
{
    ++stats_.failed_passes;
    if (l.reported_up)
        ctx.emit(link_down{l.peer, l.path.is_unspecified() ? l.relay : l.path});
    l.reported_up = false;
    l.ph = phase::waiting;
    l.path = {};
    l.relay_confirmed = false;
    l.relay_verified = false;
    l.tried_relays.clear();
    l.retry_at = ctx.now() + l.backoff;
    ctx.emit(connection_failed{l.peer, l.attempts, l.backoff});
    l.backoff = std::min(l.backoff * 2, cfg_.backoff_max);
}

template <class Ctx>
void connector::establish(Ctx& ctx, link& l, endpoint const& path, link_method method)
{
    bool const was_relayed = l.reported_up && l.method == link_method::relayed;
    // The first working path ends an isolation, and with it the isolation's
    // backoff: ask discovery for introducers at the next tick, not minutes later.
    if (isolated())
        pool_.start(ctx.now());
    l.path = path;
    l.target = path;
    l.ph = phase::established;
    l.relay_confirmed = false;
    l.relay_verified = false;
    l.last_heard = ctx.now();
    l.last_keepalive = ctx.now();
    l.burst_left = 0;
    l.backoff = cfg_.backoff_initial;
    l.method = method;
    if (was_relayed) {
        l.upgraded = true;
        ++stats_.upgrades;
    }
    count(ctx, method);
    announce_up(ctx, l);
    // A peer that answered a connection we opened straight to its address
    // (no punch, no relay) is public to us: while we hold fewer introducers
    // than wanted, it becomes one at once. Waiting for discovery to offer it
    // again can take minutes when the cache ranks dead or symmetric peers
    // first, and a node with one introducer loses every relayed connection
    // with it, with no second relay to fail over to.
    if (method == link_method::direct && l.initiated && !l.introducer &&
        introducer_sessions() < cfg_.introducers) {
        l.introducer = true;
        publish_self(ctx);
    }
    // What waited for a path goes now; what was sent a moment ago (through a relay) waits its turn.
    retransmit(ctx, l, ctx.now());
}

template <class Ctx>
void connector::establish_relayed(Ctx& ctx, link& l)
{
    l.method = link_method::relayed;
    l.last_heard = ctx.now();
    l.backoff = cfg_.backoff_initial;
    count(ctx, link_method::relayed);
    announce_up(ctx, l);
    retransmit(ctx, l, ctx.now());
}

template <class Ctx>
void connector::count(Ctx& ctx, link_method m)
{
    switch (m) {
    case link_method::direct: ++stats_.direct; ctx.metrics().increment("meshkit_connections_direct_total", 1); break;
    case link_method::punched: ++stats_.punched; ctx.metrics().increment("meshkit_connections_punched_total", 1); break;
    case link_method::relayed: ++stats_.relayed; ctx.metrics().increment("meshkit_connections_relayed_total", 1); break;
    case link_method::attached: break; // the ladder makes no attachments
    }
}

template <class Ctx>
void connector::announce_up(Ctx& ctx, link& l)
{
    if (!l.reported_up)
        l.time_to_connect = ctx.now() - l.started;
    bool const upgrade = l.reported_up;
    l.reported_up = true;
    ctx.emit(link_up{l.peer, l.path.is_unspecified() ? l.relay : l.path, l.method, l.initiated,
                     std::max(1u, l.attempts), l.time_to_connect, upgrade && l.upgraded, l.peer_nat});
}

// -- introducers and our own address ---------------------------------------------------

/// What we know of `id` as a party to a punch we coordinate: our session's path and its measured RTT.
inline punch_coordinator::party connector::party_of(node_id const& id) const
{
    auto it = links_.find(id);
    if (it == links_.end())
        return {};
    link const& l = it->second;
    return {l.path, l.rtt.samples() ? std::optional<duration>(l.rtt.smoothed()) : std::nullopt};
}

inline bool connector::isolated() const
{
    return std::none_of(links_.begin(), links_.end(), [](auto const& kv) { return established(kv.second); });
}

inline std::size_t connector::introducer_sessions() const
{
    std::size_t n = 0;
    for (auto const& [id, l] : links_)
        n += l.introducer && !l.path.is_unspecified();
    return n;
}

/// A candidate answered: it becomes an introducer session.
template <class Ctx>
void connector::adopt_introducer(Ctx& ctx, node_id const& id, endpoint const& address, duration rtt)
{
    note_public(ctx, id, address, rtt);
    auto it = links_.find(id);
    if (it != links_.end()) {
        it->second.introducer = true;
        // Through a birthday hit's socket, the answer proves a punched path, not a direct one.
        if (it->second.path.is_unspecified())
            establish(ctx, it->second, address, it->second.birthday_hit ? link_method::punched : link_method::direct);
        publish_self(ctx);
        return;
    }
    if (links_.size() >= cfg_.max_connections)
        return;
    link& l = add_link(ctx, id);
    l.target = address;
    l.introducer = true;
    l.initiated = true;
    l.attempts = 1;
    l.started = ctx.now() - rtt;
    l.nonce = fresh_nonce(ctx);
    l.rtt.sample(rtt);
    establish(ctx, l, address, link_method::direct);
    publish_self(ctx);
}

template <class Ctx>
void connector::note_public(Ctx& ctx, node_id const& id, endpoint const& address, duration rtt)
{
    // It answered a probe it had no reason to expect: no NAT filters its traffic.
    if constexpr (requires { ctx.discovery().record_public_reachability(id); }) {
        ctx.discovery().record_success(id, address, rtt, ctx.now());
        ctx.discovery().record_public_reachability(id);
    }
}

template <class Ctx>
void connector::observe(Ctx& ctx, node_id const& observer, endpoint const& observer_address, endpoint const& seen)
{
    if (seen.is_unspecified())
        return;
    observed_.observe(observer, observer_address, seen, ctx.now());
    publish_self(ctx);
}

/// Emits `address_observed` when our address, NAT type or introducers changed.
template <class Ctx>
void connector::publish_self(Ctx& ctx)
{
    auto const best = observed_.best();
    if (!best)
        return;
    nat_type const type = observed_.inferred_type(ctx.local_endpoint());
    std::vector<endpoint> intro;
    for (auto const& [id, l] : links_) {
        if (!l.introducer || l.path.is_unspecified() || intro.size() >= cfg_.introducers)
            continue;
        // Our record names our introducers to everyone: only those that share their own address.
        discovery::cached_peer const* known = ctx.discovery().find(id);
        if (known && known->broadcasting)
            intro.push_back(l.path);
    }
    if (*best == announced_address_ && type == announced_nat_ && intro == announced_introducers_)
        return;
    announced_address_ = *best;
    announced_nat_ = type;
    announced_introducers_ = intro;
    ctx.emit(address_observed{*best, type, std::move(intro)});
}

// -- reliable messages over the link's path --------------------------------------------

/// How `l`'s channel sends a message: `nt_data` on the proven path, a data frame through a confirmed relay, or not yet.
template <class Ctx>
auto connector::data_sender(Ctx& ctx, link& l)
{
    return [this, &ctx, &l](std::uint64_t session, std::uint64_t seq, std::span<std::byte const> payload) {
        if (!l.path.is_unspecified())
            ctx.send(l.path, nt_data{session, seq, std::vector<std::byte>(payload.begin(), payload.end())});
        else if (l.relay_confirmed)
            send_frame(ctx, l, frame_kind::data, seq, payload);
    };
}

template <class Ctx>
void connector::send_frame(Ctx& ctx, link& l, frame_kind kind, std::uint64_t seq, std::span<std::byte const> payload)
{
    ctx.send(l.relay, nt_relay_frame{l.peer, kind, kind == frame_kind::data ? l.channel.session() : 0, seq,
                                     std::vector<std::byte>(payload.begin(), payload.end())});
}

/// Delivers a message once. @return whether to acknowledge it (false for one outside the window).
template <class Ctx>
bool connector::deliver(Ctx& ctx, link& l, std::uint64_t session, std::uint64_t seq,
                        std::vector<std::byte> const& payload)
{
    switch (l.channel.receive(session, seq, 4 * cfg_.max_pending_messages)) {
    case reliable_channel::receipt::ignored: return false;
    case reliable_channel::receipt::repeated: return true; // a retransmission: acknowledge again
    case reliable_channel::receipt::fresh: break;
    }
    ++stats_.messages_delivered;
    ctx.emit(peer_message{l.peer, payload});
    return true;
}

inline void connector::acknowledge(link& l, std::uint64_t session, std::uint64_t seq)
{
    if (l.channel.acknowledge(session, seq))
        ++stats_.messages_acked;
}

template <class Ctx>
void connector::retransmit(Ctx& ctx, link& l, time_point now)
{
    stats_.retransmissions += l.channel.send_due(now, cfg_.retransmit_interval, data_sender(ctx, l));
}

// -- the clock -----------------------------------------------------------------------

template <class Ctx>
void connector::tick(Ctx& ctx)
{
    time_point const now = ctx.now();
    pool_.tick(ctx);
    std::vector<node_id> gone;
    for (auto& [id, l] : links_) {
        if (l.birthday_left > 0 && l.path.is_unspecified())
            spray(ctx, l);
        if (!step(ctx, l, now))
            gone.push_back(id);
    }
    bool introducers_changed = false;
    for (auto const& id : gone) {
        link const& l = links_[id];
        introducers_changed = introducers_changed || l.introducer;
        if (auto const unacked = l.channel.pending()) {
            stats_.messages_undelivered += unacked;
            ctx.metrics().increment("meshkit_connector_messages_undelivered_total", unacked);
            ctx.emit(messages_undelivered{id, unacked});
        }
        links_.erase(id);
    }
    if (introducers_changed)
        publish_self(ctx);
    relay_.expire(now);
    pool_.want(ctx, introducer_sessions(), [&] { return isolated(); });
    // Introducers become nameable once their own records arrive by gossip: look again each second.
    if (++ticks_ % 10 == 0)
        publish_self(ctx);
}

/// Advances one connection. @return false when it should be forgotten.
template <class Ctx>
bool connector::step(Ctx& ctx, link& l, time_point now)
{
    switch (l.ph) {
    case phase::direct:
        if (l.initiated && races(ctx, l)) {
            // The peer's record named no introducer when the pass began (a
            // peer that has just announced itself); now it does: race.
            race(ctx, l);
            return true;
        }
        if (now - l.phase_since >= cfg_.direct_timeout) {
            // A public peer that does not answer is down, not behind a NAT: never punch it.
            if (l.peer_nat == nat_type::open)
                fail_pass(ctx, l);
            else if (l.peer_nat == nat_type::symmetric && announced_nat_ == nat_type::symmetric)
                begin_relay(ctx, l); // two symmetric NATs: no probe can match a mapping (docs/nat-traversal.md)
            else
                begin_punch(ctx, l);
        } else {
            probe_direct(ctx, l, now);
        }
        return true;
    case phase::punching:
        if (l.burst_left > 0 && now - l.last_probe >= cfg_.punch_probe_interval)
            burst(ctx, l);
        if (!l.initiated)
            return now - l.phase_since < cfg_.punch_budget; // the target side fires and answers
        probe_direct(ctx, l, now); // raced beside the punch
        if (now - l.round_started >= cfg_.punch_round_timeout)
            request_round(ctx, l);
        return true;
    case phase::relaying:
        return step_relayed(ctx, l, now);
    case phase::established:
        if (now - l.last_heard > cfg_.connection_timeout) {
            ctx.emit(link_down{l.peer, l.path});
            l.reported_up = false;
            if (!l.initiated || l.introducer)
                return false;
            l.ph = phase::waiting; // reconnect through the ladder
            l.path = {};
            l.retry_at = now;
            return true;
        }
        if (l.initiated && now - l.last_keepalive >= cfg_.keepalive_interval) {
            l.last_keepalive = now;
            if (l.nonce == 0)
                l.nonce = fresh_nonce(ctx);
            l.probe_sent = now;
            ctx.send(l.path, nt_keepalive{l.nonce});
        }
        retransmit(ctx, l, now);
        return true;
    case phase::waiting:
        if (!l.initiated)
            return false;
        if (now >= l.retry_at)
            begin_direct(ctx, l);
        return true;
    }
    return true;
}

template <class Ctx>
bool connector::step_relayed(Ctx& ctx, link& l, time_point now)
{
    if (l.burst_left > 0 && now - l.last_probe >= cfg_.punch_probe_interval)
        burst(ctx, l); // a punch raced beside the relay (either side), or an upgrade
    if (!l.initiated) {
        if (now - l.last_heard > cfg_.connection_timeout) {
            if (l.reported_up)
                ctx.emit(link_down{l.peer, l.relay});
            return false;
        }
        retransmit(ctx, l, now);
        return true;
    }
    probe_direct(ctx, l, now); // raced beside the relay
    if (!l.relay_confirmed) {
        if (now - l.relay_asked >= cfg_.relay_timeout) {
            l.tried_relays.push_back(l.relay);
            begin_relay(ctx, l);
        }
        return true;
    }
    if (now - l.relay_heard >= cfg_.relay_timeout) {
        // The relay died, or dropped us: find another at once.
        if (l.relay_verified) {
            l.failed_relay = l.relay;
            l.failed_relay_heard = l.relay_heard;
        }
        l.tried_relays.push_back(l.relay);
        begin_relay(ctx, l);
        return true;
    }
    if (now - l.last_relay_keepalive >= cfg_.relay_keepalive) {
        l.last_relay_keepalive = now;
        send_frame(ctx, l, frame_kind::keepalive, 0, {});
    }
    if (now >= l.next_upgrade) {
        // Keep trying for a direct path; success moves the connection off the relay.
        l.next_upgrade = now + cfg_.upgrade_interval;
        l.intermediaries.clear();
        l.round = 0;
        l.punch_started = now;
        request_round(ctx, l);
    }
    retransmit(ctx, l, now);
    return true;
}

} // namespace meshkit::nat

#endif // MESHKIT_NAT_IMPL_CONNECTOR_HPP

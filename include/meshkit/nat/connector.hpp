// nat/connector.hpp
// ~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_NAT_CONNECTOR_HPP
#define MESHKIT_NAT_CONNECTOR_HPP

#include <meshkit/discovery/cached_peer.hpp>
#include <meshkit/endpoint.hpp>
#include <meshkit/error.hpp>
#include <meshkit/inbound.hpp>
#include <meshkit/membership/rtt_estimator.hpp>
#include <meshkit/nat/connection_events.hpp>
#include <meshkit/link_events.hpp>
#include <meshkit/nat/nat_type.hpp>
#include <meshkit/nat/observed_address.hpp>
#include <meshkit/nat/traversal_messages.hpp>
#include <meshkit/node_id.hpp>
#include <meshkit/peer_events.hpp>
#include <meshkit/time.hpp>
#include <meshkit/type_list.hpp>

#include <algorithm>
#include <chrono>
#include <concepts>
#include <type_traits>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <system_error>
#include <vector>

namespace meshkit::nat {

/** Settings of the connector; defaults follow the seed's design decisions and the research.

    Direct for 2 s (the seed allows 2 to 5), then up to 3 punch rounds in a
    30 s budget (DCUtR makes 3 attempts; 97.6 % of its successes land on
    the first), then a relay whose session lives 30 s unless refreshed.
    Keepalives every 10 s hold NAT mappings that deployed NATs drop after
    about 30 s. Backoff doubles from 1 s to 60 s, as every system in
    `research/seeds.md` does.
*/
struct connector_config {
    /// How long to try the direct path before asking for a punch.
    duration direct_timeout = std::chrono::seconds(2);
    /// Direct probes are repeated this often.
    duration probe_interval = std::chrono::milliseconds(250);
    /// Punch rounds before falling back to a relay.
    unsigned punch_rounds = 3;
    /// A round that has not connected after this long is over.
    duration punch_round_timeout = std::chrono::seconds(3);
    /// All rounds together stop after this long.
    duration punch_budget = std::chrono::seconds(30);
    /// Probes each side fires in one round, and their spacing.
    unsigned punch_probes = 10;
    duration punch_probe_interval = std::chrono::milliseconds(100);
    /// Added to the intermediary's synchronised firing time, for its RTT estimates' error.
    duration punch_margin = std::chrono::milliseconds(20);
    /// Ports guessed after the highest observed one when the requester is behind a symmetric NAT.
    std::size_t predicted_ports = 16;
    /// Keepalives on an established direct connection; below every NAT's idle timeout.
    duration keepalive_interval = std::chrono::seconds(10);
    /// Silence after which a connection is down.
    duration connection_timeout = std::chrono::seconds(30);
    /// A relay session with no frame for this long is dropped by the relay.
    duration relay_ttl = std::chrono::seconds(30);
    /// Keepalives through a relay, end to end.
    duration relay_keepalive = std::chrono::seconds(5);
    /// No answer through the relay for this long: fail over to another.
    duration relay_timeout = std::chrono::seconds(12);
    /// While relayed, a punch is retried this often, to upgrade.
    duration upgrade_interval = std::chrono::seconds(30);
    /// Retry delays after the ladder failed, doubling.
    duration backoff_initial = std::chrono::seconds(1);
    duration backoff_max = std::chrono::seconds(60);
    /// Unacknowledged application messages are sent again this often.
    duration retransmit_interval = std::chrono::seconds(1);
    /// Public peers to keep sessions with: our introducers and relays.
    std::size_t introducers = 3;
    /** An introducer candidate that did not answer is not probed again for this long, doubling per failure.

        With fewer public peers than `introducers`, discovery keeps offering
        the same dead or unreachable addresses; without this the node would
        probe them every few seconds for as long as it runs.
    */
    duration candidate_retry_initial = std::chrono::seconds(30);
    duration candidate_retry_max = std::chrono::minutes(10);
    /// Addresses remembered as unanswering (the oldest retry is forgotten first).
    std::size_t max_unanswering = 64;
    /// Bounds: connections, relay sessions served, unacknowledged messages per connection.
    std::size_t max_connections = 256;
    std::size_t max_relay_sessions = 128;
    std::size_t max_pending_messages = 64;
    /// The largest application payload `send` accepts.
    std::size_t max_payload = 1024;
    /// Whether this node coordinates punches and relays for others (it does so only where it can).
    bool coordinate = true;
    bool relay = true;
    /// The engine's clock granularity.
    duration tick = std::chrono::milliseconds(100);
    observed_address_config observed{};
};

/// A connection as the application sees it.
struct connection_info {
    node_id peer;
    link_method method = link_method::direct;
    bool established = false;
    bool initiated = false;
    bool upgraded = false;
    unsigned attempts = 0;
    duration time_to_connect{};
    /// The direct path, if any.
    endpoint path;
    /// The relay in use, if relayed.
    endpoint relay;
    nat_type peer_nat = nat_type::unknown;
    std::size_t pending_messages = 0;
};

/// What a connector has done, for tests, reports and metrics.
struct connector_stats {
    std::uint64_t direct = 0, punched = 0, relayed = 0, upgrades = 0, failovers = 0, failed_passes = 0;
    std::uint64_t punches_coordinated = 0, punches_refused = 0;
    std::uint64_t relay_sessions_opened = 0, relay_sessions_refused = 0, relayed_frames = 0, relayed_bytes = 0;
    std::uint64_t messages_delivered = 0, messages_acked = 0, retransmissions = 0;
};

/** The connection ladder of gossip-first NAT traversal: direct, then a coordinated punch, then a relay.

    Connecting to a peer named by id reads its record from the node's peer
    cache (`ctx.discovery().find(id)`): its address, its NAT type and its
    introducers. Then:

    1. **Direct.** Probes to its address for `direct_timeout`. A peer whose
       record says it is public (`nat_type::open`) is never punched: if it
       does not answer, it is down, and the ladder backs off. That is the
       mistake that held ant-quic's punch success at 4–7.5 %.
    2. **Coordinated punch.** An introducer of the target (preferring a
       public one) that holds a session with it sends `nt_punch_me_now` to
       both sides, with delays chosen so both fire at one moment; each side
       sprays `punch_probes` probes at the other's observed address, and at
       predicted ports when the other is behind a symmetric NAT. Up to
       `punch_rounds` rounds within `punch_budget`.
    3. **Relay.** A public introducer of the target forwards frames between
       the two; the session lives while keepalives cross it end to end.
       When they stop, the connector fails over to another relay, and it
       keeps retrying the punch to upgrade.
    4. **Unreachable.** The whole ladder is retried after a doubling backoff.

    When both sides know they are behind symmetric NATs, the punch rung is
    skipped: no probe could match a mapping, so it would only delay the relay.

    Every node answers probes (saying the address it saw, which is how
    nodes learn their public address and NAT type), coordinates punches
    for peers it holds sessions with, and relays when it is configured to.
    It also keeps `introducers` sessions with public peers, drawn from
    discovery, so that others can reach it.

    Application messages (`send`) are acknowledged and retransmitted across
    path changes, including relay failover, and delivered once
    (`peer_message`). Every table is bounded.

    Requires a discovery policy with `find(id)` returning a
    `discovery::cached_peer const*` and `peers()` (`discovery::bootstrap_cache`);
    `start` checks it with a `meshkit:` message.

    @par Events
    `link_up`, `link_down`, `connection_failed`,
    `relay_failover`, `address_observed`, `peer_message`, `contact_failed`,
    `peers_wanted`.
*/
class connector {
public:
    using messages = traversal_messages;
    using events = type_list<link_up, link_down, connection_failed, relay_failover, address_observed,
                             peer_message, contact_failed, peers_wanted>;

    /// Its run-time settings: `node_config::engine<connector>()` on a node.
    using config_type = connector_config;

    explicit connector(connector_config cfg = {}) : cfg_(cfg), observed_(cfg.observed) {}

    // -- operations -------------------------------------------------------------

    /** Starts the ladder towards `peer`, whose record must be in the node's peer cache.

        @return `errc::not_found` when the cache has no address for it,
        `errc::queue_full` at `max_connections`; success when already
        connected or connecting.
    */
    template <class Ctx>
    std::error_code connect(Ctx& ctx, node_id const& peer)
    {
        if (peer == ctx.self())
            return errc::not_found;
        if (auto it = links_.find(peer); it != links_.end()) {
            if (!it->second.initiated) {
                it->second.initiated = true;
                it->second.started = ctx.now();
            }
            return {};
        }
        if (links_.size() >= cfg_.max_connections)
            return errc::queue_full;
        discovery::cached_peer const* record = ctx.discovery().find(peer);
        if (!record || record->addresses.empty())
            return errc::not_found;
        link& l = links_[peer];
        l.peer = peer;
        l.target = record->addresses.back();
        l.peer_nat = record->nat;
        l.initiated = true;
        l.started = ctx.now();
        l.backoff = cfg_.backoff_initial;
        l.tx_session = ctx.rng()() | 1;
        begin_direct(ctx, l);
        return {};
    }

    /** Sends `payload` to a connected (or connecting) peer; it is delivered once, or the connection fails.

        @return `errc::not_found` without a connection, `errc::message_too_large`
        over `max_payload`, `errc::queue_full` when `max_pending_messages`
        are unacknowledged (nothing is accepted then).
    */
    template <class Ctx>
    std::error_code send(Ctx& ctx, node_id const& peer, std::span<std::byte const> payload)
    {
        auto it = links_.find(peer);
        if (it == links_.end())
            return errc::not_found;
        if (payload.size() > cfg_.max_payload)
            return errc::message_too_large;
        link& l = it->second;
        if (l.unacked.size() >= cfg_.max_pending_messages)
            return errc::queue_full;
        l.unacked.push_back(outgoing{l.next_seq++, {payload.begin(), payload.end()}, time_point::min()});
        if (established(l))
            transmit(ctx, l, l.unacked.back());
        return {};
    }

    /// The connection to `peer`, if any.
    [[nodiscard]] std::optional<connection_info> find(node_id const& peer) const
    {
        auto it = links_.find(peer);
        if (it == links_.end())
            return std::nullopt;
        return info(it->second);
    }

    /// Every connection.
    [[nodiscard]] std::vector<connection_info> connections() const
    {
        std::vector<connection_info> out;
        for (auto const& [id, l] : links_)
            out.push_back(info(l));
        return out;
    }

    [[nodiscard]] connector_stats const& stats() const noexcept { return stats_; }
    [[nodiscard]] std::size_t relay_sessions() const noexcept { return relay_sessions_.size(); }
    /// Our public address as observers report it (see `observed_address::best`).
    [[nodiscard]] std::optional<endpoint> public_address() const { return observed_.best(); }
    [[nodiscard]] nat_type own_nat() const noexcept { return announced_nat_; }

    // -- engine hooks ------------------------------------------------------------

    template <class Ctx>
    void start(Ctx& ctx)
    {
        static_assert(requires(std::remove_reference_t<decltype(ctx.discovery())>& d, node_id const& id) {
            { d.find(id) } -> std::convertible_to<discovery::cached_peer const*>;
            d.peers();
        }, "meshkit: nat::connector needs a discovery policy with find(id) and peers() over "
           "discovery::cached_peer, such as discovery::bootstrap_cache (see docs/nat-traversal.md)");
        ctx.set_timer(cfg_.tick, tick_tag);
        next_want_ = ctx.now();
        want_backoff_ = cfg_.backoff_initial;
        want_introducers(ctx);
    }

    /// Opens a session with `address`, a public peer from discovery, to serve as an introducer.
    template <class Ctx>
    void add_candidate(Ctx& ctx, endpoint const& address)
    {
        // Probe as many candidates as introducers are wanted: some of the best-ranked may be dead.
        if (address == ctx.local_endpoint() || candidates_.size() >= cfg_.introducers)
            return;
        if (std::any_of(candidates_.begin(), candidates_.end(), [&](candidate const& c) { return c.address == address; }))
            return;
        if (cannot_introduce(ctx, address))
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
        candidate c{address, fresh_nonce(ctx), ctx.now(), ctx.now()};
        candidates_.push_back(c);
        ctx.send(address, nt_probe{c.nonce});
    }

    template <class Ctx>
    void on_unreachable(Ctx& ctx, endpoint const& address)
    {
        // ICMP "port unreachable": the process behind that address is gone.
        for (auto it = candidates_.begin(); it != candidates_.end();)
            if (it->address == address) {
                ctx.emit(contact_failed{address});
                remember_unanswering(ctx.now(), address);
                it = candidates_.erase(it);
            } else {
                ++it;
            }
        for (auto& [id, l] : links_)
            if (l.path == address && l.ph == phase::established)
                l.last_heard = ctx.now() - cfg_.connection_timeout - cfg_.tick; // down at the next tick
    }

    template <class Ctx>
    void on_message(Ctx& ctx, inbound const& in, nt_probe const& m)
    {
        ctx.send(in.from, nt_probe_ack{m.nonce, in.from});
        node_id const& from = in.header.sender;
        if (from == ctx.self() || in.header.hops != 0)
            return;
        auto it = links_.find(from);
        if (it == links_.end()) {
            if (links_.size() >= cfg_.max_connections)
                return;
            link& l = links_[from];
            l.peer = from;
            l.target = in.from;
            l.started = ctx.now();
            l.backoff = cfg_.backoff_initial;
            l.tx_session = ctx.rng()() | 1;
            establish(ctx, l, in.from, link_method::direct);
            return;
        }
        link& l = it->second;
        if (l.path.is_unspecified())
            establish(ctx, l, in.from, l.ph == phase::direct ? link_method::direct : link_method::punched);
        else if (l.path == in.from)
            l.last_heard = ctx.now();
    }

    template <class Ctx>
    void on_message(Ctx& ctx, inbound const& in, nt_probe_ack const& m)
    {
        node_id const& from = in.header.sender;
        if (m.nonce == 0 || from == ctx.self())
            return;
        auto c = std::find_if(candidates_.begin(), candidates_.end(),
                              [&](candidate const& x) { return x.nonce == m.nonce && x.address == in.from; });
        if (c != candidates_.end()) {
            duration const rtt = ctx.now() - c->first_probe;
            candidates_.erase(c);
            observe(ctx, from, in.from, m.observed);
            adopt_introducer(ctx, from, in.from, rtt);
            return;
        }
        auto it = links_.find(from);
        if (it == links_.end() || it->second.nonce != m.nonce)
            return;
        link& l = it->second;
        if (l.probe_sent != time_point::min() && l.probe_sent <= ctx.now())
            l.rtt.sample(ctx.now() - l.probe_sent);
        observe(ctx, from, in.from, m.observed);
        if (l.path.is_unspecified()) {
            bool const first_try = l.ph == phase::direct;
            establish(ctx, l, in.from, first_try ? link_method::direct : link_method::punched);
            if (first_try)
                note_public(ctx, from, in.from, l.rtt.smoothed());
        } else if (l.path == in.from) {
            l.last_heard = ctx.now();
        }
    }

    template <class Ctx>
    void on_message(Ctx& ctx, inbound const& in, nt_keepalive const& m)
    {
        ctx.send(in.from, nt_probe_ack{m.nonce, in.from});
        if (auto it = links_.find(in.header.sender); it != links_.end() && it->second.path == in.from)
            it->second.last_heard = ctx.now();
    }

    template <class Ctx>
    void on_message(Ctx& ctx, inbound const& in, nt_punch_request const& m)
    {
        node_id const& requester = in.header.sender;
        if (!cfg_.coordinate || m.target == requester || m.predicted_ports.size() > cfg_.predicted_ports) {
            refuse(ctx, in.from, m.target);
            return;
        }
        // We introduce only peers we hold a direct session with: our
        // session is what gets PUNCH_ME_NOW through the target's NAT.
        if (auto t = links_.find(m.target); t != links_.end() && !t->second.path.is_unspecified()) {
            link const& target = t->second;
            auto r = links_.find(requester);
            duration const rtt_t = estimate(target.rtt);
            duration const rtt_r = r != links_.end() && r->second.rtt.samples() ? r->second.rtt.smoothed() : rtt_t;
            coordinate(ctx, requester, in.from, rtt_r, m.predicted_ports, m.target, target.path, rtt_t, m.round);
            remember_punch(ctx, requester, in.from, m.target);
            return;
        }
        // A symmetric target answering a punch we coordinated moments ago,
        // with the ports its NAT will likely use: tell the requester, whose
        // address we still have, and fire both again.
        auto const now = ctx.now();
        for (auto const& p : recent_punches_)
            if (p.requester == m.target && p.target == requester && now - p.at <= cfg_.punch_budget) {
                duration const rtt = std::chrono::milliseconds(100);
                coordinate(ctx, requester, in.from, rtt, m.predicted_ports, p.requester, p.requester_address, rtt, m.round);
                return;
            }
        refuse(ctx, in.from, m.target);
    }

    template <class Ctx>
    void on_message(Ctx& ctx, inbound const& in, nt_punch_me_now const& m)
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
            schedule_fire(ctx, l, m.fire_in_us);
            if (!asked)
                send_own_prediction(ctx, l, in.from, m.round);
            return;
        }
        // The target side: only an introducer we hold a session with may make us fire.
        if (!is_session(in.from) || links_.size() >= cfg_.max_connections)
            return;
        link& l = links_[m.peer];
        l.peer = m.peer;
        l.target = m.address;
        l.peer_ports = m.predicted_ports;
        l.ph = phase::punching;
        l.started = ctx.now();
        l.phase_since = ctx.now();
        l.backoff = cfg_.backoff_initial;
        l.tx_session = ctx.rng()() | 1;
        l.nonce = fresh_nonce(ctx);
        schedule_fire(ctx, l, m.fire_in_us);
        send_own_prediction(ctx, l, in.from, m.round);
    }

    template <class Ctx>
    void on_message(Ctx& ctx, inbound const& in, nt_punch_refused const& m)
    {
        auto it = links_.find(m.target);
        if (it == links_.end() || it->second.intermediary != in.from ||
            (it->second.ph != phase::punching && it->second.ph != phase::relaying))
            return;
        request_round(ctx, it->second); // the next intermediary, during a punch or an upgrade attempt
    }

    template <class Ctx>
    void on_message(Ctx& ctx, inbound const& in, nt_relay_open const& m)
    {
        auto t = links_.find(m.target);
        bool const ok = cfg_.relay && t != links_.end() && !t->second.path.is_unspecified() &&
                        m.target != in.header.sender && relay_sessions_.size() < cfg_.max_relay_sessions;
        if (ok) {
            relay_sessions_[{in.header.sender, m.target}] = relay_session{in.from, ctx.now() + cfg_.relay_ttl};
            ++stats_.relay_sessions_opened;
        } else {
            ++stats_.relay_sessions_refused;
        }
        ctx.send(in.from, nt_relay_reply{m.target, ok});
    }

    template <class Ctx>
    void on_message(Ctx& ctx, inbound const& in, nt_relay_reply const& m)
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
            ++stats_.failovers; // a new relay for a connection that was already relayed
            for (auto& o : l.unacked)
                transmit(ctx, l, o);
        }
    }

    template <class Ctx>
    void on_message(Ctx& ctx, inbound const& in, nt_relay_frame const& m)
    {
        if (m.payload.size() > cfg_.max_payload)
            return;
        node_id const& sender = in.header.sender;
        // As the relay: forward between the two ends of a session.
        if (auto s = relay_sessions_.find({sender, m.peer}); s != relay_sessions_.end() && s->second.requester == in.from) {
            auto t = links_.find(m.peer);
            if (t == links_.end() || t->second.path.is_unspecified()) {
                relay_sessions_.erase(s);
                return;
            }
            s->second.expires = ctx.now() + cfg_.relay_ttl;
            forward_frame(ctx, t->second.path, sender, m);
            return;
        }
        if (auto s = relay_sessions_.find({m.peer, sender}); s != relay_sessions_.end()) {
            auto b = links_.find(sender);
            if (b != links_.end() && b->second.path == in.from) {
                s->second.expires = ctx.now() + cfg_.relay_ttl;
                forward_frame(ctx, s->second.requester, sender, m);
                return;
            }
        }
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
            link& l = links_[m.peer];
            l.peer = m.peer;
            l.started = ctx.now();
            l.backoff = cfg_.backoff_initial;
            l.tx_session = ctx.rng()() | 1;
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
    void on_message(Ctx& ctx, inbound const& in, nt_data const& m)
    {
        auto it = links_.find(in.header.sender);
        if (it == links_.end() || it->second.path != in.from || m.payload.size() > cfg_.max_payload)
            return;
        it->second.last_heard = ctx.now();
        if (deliver(ctx, it->second, m.session, m.seq, m.payload))
            ctx.send(in.from, nt_data_ack{m.session, m.seq});
    }

    template <class Ctx>
    void on_message(Ctx& ctx, inbound const& in, nt_data_ack const& m)
    {
        auto it = links_.find(in.header.sender);
        if (it == links_.end() || it->second.path != in.from)
            return;
        it->second.last_heard = ctx.now();
        acknowledge(it->second, m.session, m.seq);
    }

    template <class Ctx>
    void on_timer(Ctx& ctx, std::uint64_t tag)
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
        }
    }

private:
    static constexpr std::uint64_t tick_tag = 1;

    enum class phase : std::uint8_t { direct, punching, relaying, established, waiting };

    struct outgoing {
        std::uint64_t seq;
        std::vector<std::byte> payload;
        time_point last_sent;
    };

    struct link {
        node_id peer;
        endpoint target;   // where direct probes go: the peer's advertised or introduced address
        endpoint path;     // the proven direct or punched path
        endpoint relay;    // the relay in use, or being asked
        endpoint intermediary;
        endpoint failed_relay; // the relay being replaced, until the new one carries a frame
        time_point failed_relay_heard{};
        std::vector<endpoint> intermediaries; // asked in this pass
        std::vector<endpoint> tried_relays;
        std::vector<std::uint16_t> peer_ports;
        phase ph = phase::direct;
        link_method method = link_method::direct;
        nat_type peer_nat = nat_type::unknown;
        bool initiated = false, introducer = false, reported_up = false, upgraded = false;
        // The relay accepted the session; a frame from the peer crossed it (end to end).
        bool relay_confirmed = false, relay_verified = false;
        unsigned attempts = 0, round = 0, burst_left = 0, predicted_for_round = 0;
        time_point started{}, phase_since{}, punch_started{}, round_started{}, last_probe{}, probe_sent = time_point::min();
        time_point last_heard{}, relay_heard{}, relay_asked{}, last_relay_keepalive{}, next_upgrade{}, retry_at{};
        time_point last_keepalive{};
        duration backoff{};
        duration time_to_connect{};
        std::uint64_t nonce = 0;
        membership::rtt_estimator rtt;
        std::uint64_t tx_session = 0, next_seq = 1;
        std::deque<outgoing> unacked;
        std::uint64_t rx_session = 0, rx_floor = 0;
        std::set<std::uint64_t> rx_above;
    };

    struct candidate {
        endpoint address;
        std::uint64_t nonce;
        time_point first_probe, last_probe;
    };

    struct relay_session {
        endpoint requester;
        time_point expires;
    };

    /// An introducer candidate that did not answer, and when it may be tried again.
    struct unanswering {
        endpoint address;
        time_point retry_at;
        duration delay;
    };

    struct coordinated_punch {
        node_id requester, target;
        endpoint requester_address;
        time_point at;
    };

    static bool established(link const& l) noexcept
    {
        return !l.path.is_unspecified() || (l.ph == phase::relaying && l.relay_confirmed && l.relay_verified);
    }

    static std::uint32_t micros(duration d) noexcept
    {
        auto const us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
        return static_cast<std::uint32_t>(std::clamp<std::int64_t>(us, 0, 10'000'000));
    }

    static duration estimate(membership::rtt_estimator const& r) noexcept
    {
        return r.samples() ? r.smoothed() : std::chrono::milliseconds(100);
    }

    template <class Ctx>
    static std::uint64_t fresh_nonce(Ctx& ctx)
    {
        return ctx.rng()() | 1;
    }

    connection_info info(link const& l) const
    {
        return connection_info{l.peer,       l.method, established(l), l.initiated, l.upgraded, l.attempts,
                               l.time_to_connect, l.path, l.relay_confirmed ? l.relay : endpoint{}, l.peer_nat,
                               l.unacked.size()};
    }

    bool is_session(endpoint const& address) const
    {
        for (auto const& [id, l] : links_)
            if (l.path == address)
                return true;
        return false;
    }

    // -- coordination ---------------------------------------------------------------

    /** Sends both sides of a punch their `nt_punch_me_now`, timed to fire together.

        Each message arrives after half its path's RTT; both sides fire when
        the slower has arrived, plus a margin.
    */
    template <class Ctx>
    void coordinate(Ctx& ctx, node_id const& a, endpoint const& a_address, duration rtt_a,
                    std::vector<std::uint16_t> const& a_ports, node_id const& b, endpoint const& b_address, duration rtt_b,
                    std::uint8_t round)
    {
        duration const fire = std::max(rtt_a, rtt_b) / 2 + cfg_.punch_margin;
        ctx.send(b_address, nt_punch_me_now{a, a_address, a_ports, micros(fire - rtt_b / 2), round});
        ctx.send(a_address, nt_punch_me_now{b, b_address, {}, micros(fire - rtt_a / 2), round});
        ++stats_.punches_coordinated;
    }

    template <class Ctx>
    void refuse(Ctx& ctx, endpoint const& to, node_id const& target)
    {
        ++stats_.punches_refused;
        ctx.send(to, nt_punch_refused{target});
    }

    template <class Ctx>
    void remember_punch(Ctx& ctx, node_id const& requester, endpoint const& address, node_id const& target)
    {
        if (recent_punches_.size() >= cfg_.max_relay_sessions)
            recent_punches_.pop_front();
        recent_punches_.push_back({requester, target, address, ctx.now()});
    }

    /** Behind a symmetric NAT, the requester cannot know which port our probes will come from.

        RFC 5128's port prediction, target side: once per punch, tell the
        intermediary the ports a sequential allocator will hand out next, so
        it can pass them to the requester.
    */
    template <class Ctx>
    void send_own_prediction(Ctx& ctx, link& l, endpoint const& intermediary, std::uint8_t round)
    {
        if (announced_nat_ != nat_type::symmetric || l.predicted_for_round == round + 1u)
            return;
        l.predicted_for_round = round + 1u;
        ctx.send(intermediary, nt_punch_request{l.peer, round, announced_nat_, observed_.predicted_ports(cfg_.predicted_ports)});
    }

    // -- the ladder ---------------------------------------------------------------

    template <class Ctx>
    void begin_direct(Ctx& ctx, link& l)
    {
        ++l.attempts;
        l.ph = phase::direct;
        l.phase_since = ctx.now();
        l.path = {};
        l.relay_confirmed = false;
        l.relay_verified = false;
        l.intermediaries.clear();
        probe(ctx, l, l.target);
    }

    template <class Ctx>
    void probe(Ctx& ctx, link& l, endpoint const& to)
    {
        if (l.nonce == 0)
            l.nonce = fresh_nonce(ctx);
        l.last_probe = ctx.now();
        if (l.probe_sent == time_point::min())
            l.probe_sent = ctx.now();
        ctx.send(to, nt_probe{l.nonce});
    }

    template <class Ctx>
    void begin_punch(Ctx& ctx, link& l)
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
    void request_round(Ctx& ctx, link& l)
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
        std::vector<std::uint16_t> ports;
        if (announced_nat_ == nat_type::symmetric)
            ports = observed_.predicted_ports(cfg_.predicted_ports);
        ctx.send(*pick, nt_punch_request{l.peer, static_cast<std::uint8_t>(l.round), announced_nat_, std::move(ports)});
    }

    /** An introducer of `peer` not in `tried`, a public one first; nothing when every one was tried. */
    template <class Ctx>
    std::optional<endpoint> pick_introducer(Ctx& ctx, node_id const& peer, std::vector<endpoint> const& tried)
    {
        discovery::cached_peer const* record = ctx.discovery().find(peer);
        if (!record || record->introducers.empty())
            return std::nullopt;
        std::optional<endpoint> best;
        int best_score = -1;
        for (endpoint const& e : record->introducers) {
            if (e == ctx.local_endpoint())
                continue;
            int score = std::find(tried.begin(), tried.end(), e) == tried.end() ? 2 : 0;
            if (is_public(ctx, e))
                score += 1;
            if (score > best_score) {
                best = e;
                best_score = score;
            }
        }
        return best_score >= 2 ? best : std::nullopt;
    }

    template <class Ctx>
    bool is_public(Ctx& ctx, endpoint const& address)
    {
        for (auto const& p : ctx.discovery().peers())
            if (!p.addresses.empty() && p.addresses.back() == address)
                return p.nat == nat_type::open || p.publicly_reachable;
        return false;
    }

    template <class Ctx>
    void schedule_fire(Ctx& ctx, link& l, std::uint32_t fire_in_us)
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
    void burst(Ctx& ctx, link& l)
    {
        if (l.burst_left == 0)
            return;
        --l.burst_left;
        probe(ctx, l, l.target);
        for (std::uint16_t p : l.peer_ports)
            if (p != l.target.port)
                probe(ctx, l, endpoint{l.target.ip, p});
    }

    template <class Ctx>
    void begin_relay(Ctx& ctx, link& l)
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
    void fail_pass(Ctx& ctx, link& l)
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
    void establish(Ctx& ctx, link& l, endpoint const& path, link_method method)
    {
        bool const was_relayed = l.reported_up && l.method == link_method::relayed;
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
        // What waited for a path goes now; what was sent a moment ago (through a relay) waits its turn.
        retransmit(ctx, l, ctx.now());
    }

    template <class Ctx>
    void establish_relayed(Ctx& ctx, link& l)
    {
        l.method = link_method::relayed;
        l.last_heard = ctx.now();
        l.backoff = cfg_.backoff_initial;
        count(ctx, link_method::relayed);
        announce_up(ctx, l);
        retransmit(ctx, l, ctx.now());
    }

    template <class Ctx>
    void count(Ctx& ctx, link_method m)
    {
        switch (m) {
        case link_method::direct: ++stats_.direct; ctx.metrics().increment("meshkit_connections_direct_total", 1); break;
        case link_method::punched: ++stats_.punched; ctx.metrics().increment("meshkit_connections_punched_total", 1); break;
        case link_method::relayed: ++stats_.relayed; ctx.metrics().increment("meshkit_connections_relayed_total", 1); break;
        case link_method::attached: break; // the ladder makes no attachments
        }
    }

    template <class Ctx>
    void announce_up(Ctx& ctx, link& l)
    {
        if (!l.reported_up)
            l.time_to_connect = ctx.now() - l.started;
        bool const upgrade = l.reported_up;
        l.reported_up = true;
        ctx.emit(link_up{l.peer, l.path.is_unspecified() ? l.relay : l.path, l.method, l.initiated,
                               std::max(1u, l.attempts), l.time_to_connect, upgrade && l.upgraded, l.peer_nat});
    }

    template <class Ctx>
    void adopt_introducer(Ctx& ctx, node_id const& id, endpoint const& address, duration rtt)
    {
        note_public(ctx, id, address, rtt);
        auto it = links_.find(id);
        if (it != links_.end()) {
            it->second.introducer = true;
            if (it->second.path.is_unspecified())
                establish(ctx, it->second, address, link_method::direct);
            publish_self(ctx);
            return;
        }
        if (links_.size() >= cfg_.max_connections)
            return;
        link& l = links_[id];
        l.peer = id;
        l.target = address;
        l.introducer = true;
        l.initiated = true;
        l.attempts = 1;
        l.started = ctx.now() - rtt;
        l.backoff = cfg_.backoff_initial;
        l.tx_session = ctx.rng()() | 1;
        l.nonce = fresh_nonce(ctx);
        l.rtt.sample(rtt);
        establish(ctx, l, address, link_method::direct);
        publish_self(ctx);
    }

    template <class Ctx>
    void note_public(Ctx& ctx, node_id const& id, endpoint const& address, duration rtt)
    {
        // It answered a probe it had no reason to expect: no NAT filters its traffic.
        if constexpr (requires { ctx.discovery().record_public_reachability(id); }) {
            ctx.discovery().record_success(id, address, rtt, ctx.now());
            ctx.discovery().record_public_reachability(id);
        }
    }

    template <class Ctx>
    void observe(Ctx& ctx, node_id const& observer, endpoint const& observer_address, endpoint const& seen)
    {
        if (seen.is_unspecified())
            return;
        observed_.observe(observer, observer_address, seen, ctx.now());
        publish_self(ctx);
    }

    /// Emits `address_observed` when our address, NAT type or introducers changed.
    template <class Ctx>
    void publish_self(Ctx& ctx)
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

    // -- reliable messages --------------------------------------------------------

    template <class Ctx>
    void transmit(Ctx& ctx, link& l, outgoing& o)
    {
        if (o.last_sent != time_point::min())
            ++stats_.retransmissions;
        o.last_sent = ctx.now();
        if (!l.path.is_unspecified())
            ctx.send(l.path, nt_data{l.tx_session, o.seq, o.payload});
        else if (l.relay_confirmed)
            send_frame(ctx, l, frame_kind::data, o.seq, o.payload);
    }

    template <class Ctx>
    void send_frame(Ctx& ctx, link& l, frame_kind kind, std::uint64_t seq, std::vector<std::byte> const& payload)
    {
        ctx.send(l.relay, nt_relay_frame{l.peer, kind, kind == frame_kind::data ? l.tx_session : 0, seq, payload});
    }

    template <class Ctx>
    void forward_frame(Ctx& ctx, endpoint const& to, node_id const& origin, nt_relay_frame const& m)
    {
        ++stats_.relayed_frames;
        stats_.relayed_bytes += m.payload.size();
        ctx.metrics().increment("meshkit_relayed_bytes_total", m.payload.size());
        ctx.send(to, nt_relay_frame{origin, m.kind, m.session, m.seq, m.payload});
    }

    /// Delivers a message once. @return whether to acknowledge it (false for one outside the window).
    template <class Ctx>
    bool deliver(Ctx& ctx, link& l, std::uint64_t session, std::uint64_t seq, std::vector<std::byte> const& payload)
    {
        if (session == 0 || seq == 0)
            return false;
        if (session != l.rx_session) {
            l.rx_session = session; // the peer restarted its numbering
            l.rx_floor = 0;
            l.rx_above.clear();
        }
        if (seq <= l.rx_floor || l.rx_above.contains(seq))
            return true; // a retransmission: acknowledge again
        if (seq > l.rx_floor + 4 * cfg_.max_pending_messages)
            return false; // beyond any window an honest sender keeps
        l.rx_above.insert(seq);
        while (l.rx_above.contains(l.rx_floor + 1)) {
            l.rx_above.erase(l.rx_floor + 1);
            ++l.rx_floor;
        }
        ++stats_.messages_delivered;
        ctx.emit(peer_message{l.peer, payload});
        return true;
    }

    void acknowledge(link& l, std::uint64_t session, std::uint64_t seq)
    {
        if (session != l.tx_session)
            return;
        auto it = std::find_if(l.unacked.begin(), l.unacked.end(), [&](outgoing const& o) { return o.seq == seq; });
        if (it != l.unacked.end()) {
            l.unacked.erase(it);
            ++stats_.messages_acked;
        }
    }

    // -- the clock ----------------------------------------------------------------

    std::size_t introducer_sessions() const
    {
        std::size_t n = 0;
        for (auto const& [id, l] : links_)
            n += l.introducer && !l.path.is_unspecified();
        return n;
    }

    template <class Ctx>
    void want_introducers(Ctx& ctx)
    {
        std::size_t const have = candidates_.size() + introducer_sessions();
        if (have >= cfg_.introducers || ctx.now() < next_want_)
            return;
        bool const isolated = std::none_of(links_.begin(), links_.end(), [](auto const& kv) { return established(kv.second); });
        // Total isolation backs off exponentially until something answers.
        next_want_ = ctx.now() + want_backoff_;
        want_backoff_ = isolated ? std::min(want_backoff_ * 2, cfg_.backoff_max) : cfg_.backoff_initial * 5;
        // Discovery offers its best candidates first, and the best may be the
        // ones we already hold: ask for enough that the missing ones are among them.
        ctx.emit(peers_wanted{cfg_.introducers + have});
    }

    template <class Ctx>
    void tick(Ctx& ctx)
    {
        time_point const now = ctx.now();
        for (auto it = candidates_.begin(); it != candidates_.end();) {
            if (now - it->first_probe >= cfg_.direct_timeout) {
                endpoint const gone = it->address;
                it = candidates_.erase(it);
                remember_unanswering(now, gone);
                ctx.emit(contact_failed{gone});
                continue;
            }
            if (now - it->last_probe >= cfg_.probe_interval) {
                it->last_probe = now;
                ctx.send(it->address, nt_probe{it->nonce});
            }
            ++it;
        }
        std::vector<node_id> gone;
        for (auto& [id, l] : links_)
            if (!step(ctx, l, now))
                gone.push_back(id);
        bool introducers_changed = false;
        for (auto const& id : gone) {
            introducers_changed = introducers_changed || links_[id].introducer;
            links_.erase(id);
        }
        if (introducers_changed)
            publish_self(ctx);
        std::erase_if(relay_sessions_, [&](auto const& kv) { return kv.second.expires < now; });
        want_introducers(ctx);
        // Introducers become nameable once their own records arrive by gossip: look again each second.
        if (++ticks_ % 10 == 0)
            publish_self(ctx);
    }

    /** Whether probing `address` as an introducer is pointless now.

        It is when it failed recently (it waits out its retry delay), when
        it is the advertised address of a peer we already have a link with
        (that peer is reached through the ladder, whatever its NAT), or
        when the peer's record says it is behind a symmetric NAT: its
        advertised address is a mapping towards its observers only, and
        never answers anyone else.
    */
    template <class Ctx>
    bool cannot_introduce(Ctx& ctx, endpoint const& address) const
    {
        auto const failed = std::find_if(unanswering_.begin(), unanswering_.end(),
                                         [&](unanswering const& u) { return u.address == address; });
        if (failed != unanswering_.end() && ctx.now() < failed->retry_at)
            return true;
        for (auto const& p : ctx.discovery().peers())
            if (!p.addresses.empty() && p.addresses.back() == address)
                return p.nat == nat_type::symmetric || links_.contains(p.id);
        return false;
    }

    void remember_unanswering(time_point now, endpoint const& address)
    {
        auto it = std::find_if(unanswering_.begin(), unanswering_.end(),
                               [&](unanswering const& u) { return u.address == address; });
        if (it == unanswering_.end()) {
            if (unanswering_.size() >= cfg_.max_unanswering)
                unanswering_.erase(std::min_element(unanswering_.begin(), unanswering_.end(),
                                                    [](unanswering const& a, unanswering const& b) {
                                                        return a.retry_at < b.retry_at;
                                                    }));
            unanswering_.push_back({address, now, duration{}});
            it = std::prev(unanswering_.end());
        }
        it->delay = it->delay == duration{} ? cfg_.candidate_retry_initial : std::min(it->delay * 2, cfg_.candidate_retry_max);
        it->retry_at = now + it->delay;
    }

    /// Advances one connection. @return false when it should be forgotten.
    template <class Ctx>
    bool step(Ctx& ctx, link& l, time_point now)
    {
        switch (l.ph) {
        case phase::direct:
            if (now - l.phase_since >= cfg_.direct_timeout) {
                // A public peer that does not answer is down, not behind a NAT: never punch it.
                if (l.peer_nat == nat_type::open)
                    fail_pass(ctx, l);
                else if (l.peer_nat == nat_type::symmetric && announced_nat_ == nat_type::symmetric)
                    begin_relay(ctx, l); // two symmetric NATs: no probe can match a mapping (docs/nat-traversal.md)
                else
                    begin_punch(ctx, l);
            } else if (now - l.last_probe >= cfg_.probe_interval) {
                probe(ctx, l, l.target);
            }
            return true;
        case phase::punching:
            if (!l.initiated)
                return now - l.phase_since < cfg_.punch_budget; // the target side only answers
            if (l.burst_left > 0 && now - l.last_probe >= cfg_.punch_probe_interval)
                burst(ctx, l);
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
    bool step_relayed(Ctx& ctx, link& l, time_point now)
    {
        if (!l.initiated) {
            if (now - l.last_heard > cfg_.connection_timeout) {
                if (l.reported_up)
                    ctx.emit(link_down{l.peer, l.relay});
                return false;
            }
            retransmit(ctx, l, now);
            return true;
        }
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
        if (l.burst_left > 0 && now - l.last_probe >= cfg_.punch_probe_interval)
            burst(ctx, l);
        retransmit(ctx, l, now);
        return true;
    }

    template <class Ctx>
    void retransmit(Ctx& ctx, link& l, time_point now)
    {
        for (auto& o : l.unacked)
            if (o.last_sent == time_point::min() || now - o.last_sent >= cfg_.retransmit_interval)
                transmit(ctx, l, o);
    }

    connector_config cfg_;
    observed_address observed_;
    std::map<node_id, link> links_;
    std::vector<candidate> candidates_;
    std::vector<unanswering> unanswering_;
    std::map<std::pair<node_id, node_id>, relay_session> relay_sessions_;
    std::deque<coordinated_punch> recent_punches_;
    std::map<std::uint64_t, node_id> fires_;
    std::uint64_t next_fire_tag_ = 2;
    std::uint64_t ticks_ = 0;
    time_point next_want_{};
    duration want_backoff_{};
    endpoint announced_address_;
    nat_type announced_nat_ = nat_type::unknown;
    std::vector<endpoint> announced_introducers_;
    connector_stats stats_;
};

} // namespace meshkit::nat

#endif // MESHKIT_NAT_CONNECTOR_HPP

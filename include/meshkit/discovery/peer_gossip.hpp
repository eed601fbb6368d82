// discovery/peer_gossip.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_DISCOVERY_PEER_GOSSIP_HPP
#define MESHKIT_DISCOVERY_PEER_GOSSIP_HPP

#include <meshkit/broadcast/dedup_cache.hpp>
#include <meshkit/broadcast/message_key.hpp>
#include <meshkit/discovery/cached_peer.hpp>
#include <meshkit/discovery/gossip_messages.hpp>
#include <meshkit/discovery/peer_record.hpp>
#include <meshkit/endpoint.hpp>
#include <meshkit/inbound.hpp>
#include <meshkit/nat/connection_events.hpp>
#include <meshkit/node_id.hpp>
#include <meshkit/time.hpp>
#include <meshkit/type_list.hpp>

#include <algorithm>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <type_traits>
#include <vector>

namespace meshkit::discovery {

/** Settings of cache gossip; defaults are Flashback's parameters.

    TTL 32 for announcements and updates, fan-out 3, a duplicate
    re-forwarded with probability 5 %, heartbeats every 30 s with TTL 2,
    records refreshed every 5 to 15 minutes and expired after 2 hours
    without a refresh. Flashback's 30 s timestamp skew limit has no
    counterpart: nothing on the wire is a timestamp (see `peer_record`).
*/
struct peer_gossip_config {
    /// Whether this node shares its own address (Flashback's `is_broadcasting`); if not, it is never gossiped about.
    bool broadcasting = true;
    /// Whether this node is a bootstrap node: it sends heartbeats and says so in its record.
    bool bootstrap = false;
    /// Capabilities this node claims (`peer_capability` bits); relay counts only with evidence.
    std::uint8_t capabilities = can_coordinate;
    std::uint8_t max_ttl = 32;
    std::uint8_t heartbeat_ttl = 2;
    std::size_t fanout = 3;
    double duplicate_forward = 0.05;
    duration heartbeat_interval = std::chrono::seconds(30);
    /// Anti-entropy: a random neighbour is asked for recent records this often.
    duration pull_interval = std::chrono::seconds(30);
    /// A record older than this (its `age_s`) is refused: its origin has been silent too long to trust.
    duration max_record_age = std::chrono::hours(2);
    /// A change to our own record is announced this long after it, with whatever else changed meanwhile.
    duration settle_delay = std::chrono::seconds(2);
    /// The origin re-announces itself at a random moment in this range, so live records stay fresh.
    duration refresh_min = std::chrono::minutes(5);
    duration refresh_max = std::chrono::minutes(15);
    /** Records per `fb_peer_list_response` (one datagram), and per sync.

        Five of the largest signed records (an IPv6 address, 4 introducers
        and a signature: 209 bytes) make a 1,112-byte datagram, under the
        1,175 bytes a secure session leaves of UDP's 1,200; six would be 1,321.
    */
    std::size_t records_per_chunk = 5;
    std::size_t max_sync_records = 4096;
    std::size_t max_neighbors = 1024;
    std::size_t max_pending_requests = 64;
    std::size_t dedup_capacity = 8192;
    duration dedup_retention = std::chrono::minutes(10);
};

/// What cache gossip has done, for tests and reports.
struct peer_gossip_stats {
    std::uint64_t announcements_sent = 0, announcements_received = 0, updates_sent = 0, updates_received = 0;
    std::uint64_t records_applied = 0, records_refused = 0, sync_chunks_sent = 0, requests_sent = 0;
    std::uint64_t rejected_ttl = 0, rejected_expired = 0, rejected_unsolicited = 0, duplicates = 0;
    /// Times this node heard a copy of its own record with a version at least its own (an earlier incarnation) and jumped past it.
    std::uint64_t self_refutations = 0;
    /// Records dropped because their author's signature was missing or wrong (on a secure node): forgeries.
    std::uint64_t records_forged = 0;
    /// Records dropped because the cache holds a newer version of the same peer.
    std::uint64_t records_stale = 0;
};

/** Cache gossip with Flashback's protocol: how a node's peer cache learns every broadcasting peer.

    - **Full sync on connect.** A direct or punched connection (from the
      connector) makes the two nodes neighbours: they exchange `fb_hello`
      and each asks the other for everything (`fb_peer_request`, answered
      by `fb_peer_list_response` chunks that each fit one datagram). Only
      neighbours are answered: a request is tiny and its answer is not.
    - **Deltas.** A node announces its own record when its address is
      first confirmed (`fb_peer_announcement`) and when it changes or
      leaves (`fb_peer_update`); both spread with fan-out 3 and TTL 32,
      deduplicated, a duplicate re-forwarded with probability 5 %.
    - **Request.** Every `pull_interval` a random neighbour is asked for
      the records it changed since its last answer to us, which repairs
      what push missed at the cost of only what changed.
    - **Merge.** Into the node's `bootstrap_cache`: deduplicated by id,
      the copy with the newest origin version wins.
    - **No clocks on the wire.** Versions are counters, ages are relative
      to the sender's now, and pulls name cache revisions, so it works
      between hosts whose monotonic clocks are unrelated.
    - **IP sharing.** A node that does not broadcast never announces
      itself, and nobody ever sends a record of it (`shareable`): its
      address never leaves the nodes it talks to.

    Requires a discovery policy that models `meshkit::peer_cache`
    (`discovery::bootstrap_cache`, configured with a 2 h `stale_after` for
    Flashback's expiry); `basic_node` checks it with a `meshkit:` message.

    @par Events
    None of its own: it listens to `link_up`,
    `link_down` and `nat::address_observed`.
*/
class peer_gossip {
public:
    using messages = gossip_messages;
    using events = type_list<>;
    /// It reads and feeds the node's discovery policy, which must model `meshkit::peer_cache`.
    static constexpr bool needs_peer_cache = true;

    /// Its run-time settings: `node_config::engine<peer_gossip>()` on a node.
    using config_type = peer_gossip_config;

    explicit peer_gossip(peer_gossip_config cfg = {})
        : cfg_(cfg), seen_(cfg.dedup_capacity, cfg.dedup_retention)
    {
    }

    /// This node's own record, as it would be sent (with its address only when broadcasting).
    [[nodiscard]] peer_record const& self_record() const noexcept { return self_; }
    [[nodiscard]] peer_gossip_stats const& stats() const noexcept { return stats_; }
    [[nodiscard]] std::size_t neighbors() const noexcept { return neighbors_.size(); }

    /// Announces that this node leaves (`fb_peer_update` offline): peers drop its record at once.
    template <class Ctx>
    void leave(Ctx& ctx)
    {
        if (!cfg_.broadcasting || !announced_)
            return;
        bump_version(ctx);
        spread(ctx, fb_peer_update{cfg_.max_ttl, self_, false}, {});
    }

    // -- engine hooks ------------------------------------------------------------

    template <class Ctx>
    void start(Ctx& ctx)
    {
        started_ = ctx.now();
        self_.id = ctx.self();
        self_.broadcasting = cfg_.broadcasting;
        self_.capabilities = static_cast<std::uint8_t>(cfg_.capabilities | (cfg_.bootstrap ? is_bootstrap : 0));
        ctx.set_timer(jitter(ctx, cfg_.pull_interval), pull_tag);
        if (cfg_.bootstrap)
            ctx.set_timer(jitter(ctx, cfg_.heartbeat_interval), heartbeat_tag);
    }

    template <class Ctx>
    void on_event(Ctx& ctx, link_up const& e)
    {
        // Gossip runs over paths that work without a third party, between mesh members.
        if (!is_mesh_link(e.method))
            return;
        add_neighbor(ctx, e.peer, e.address);
    }

    template <class Ctx>
    void on_event(Ctx&, link_down const& e)
    {
        std::erase_if(neighbors_, [&](neighbor const& n) { return n.id == e.peer; });
    }

    template <class Ctx>
    void on_event(Ctx& ctx, nat::address_observed const& e)
    {
        self_.address = e.address;
        self_.nat = e.nat;
        self_.introducers = e.introducers;
        if (self_.introducers.size() > peer_record::max_introducers)
            self_.introducers.resize(peer_record::max_introducers); // a chunk of records must fit one datagram
        bump_version(ctx);
        // Observations and introducers arrive in bursts as a node joins:
        // gather them for `settle_delay`, then tell the mesh once.
        if (cfg_.broadcasting && !publish_armed_) {
            publish_armed_ = true;
            ctx.set_timer(cfg_.settle_delay, publish_tag);
        }
    }

    template <class Ctx>
    void on_message(Ctx& ctx, inbound const& in, fb_hello const& m)
    {
        if (in.header.sender == ctx.self())
            return;
        // A hello opens a connection: a neighbour that restarted has a new
        // cache whose revisions start again, so the next pull is a full one.
        for (auto& n : neighbors_)
            if (n.id == in.header.sender)
                n.synced = 0;
        // A node that does not broadcast says only who it is: nothing to cache, nothing signed.
        if (m.self.id == in.header.sender && m.self.broadcasting && m.self.address)
            apply(ctx, m.self);
    }

    template <class Ctx>
    void on_message(Ctx& ctx, inbound const& in, fb_peer_announcement const& m)
    {
        ++stats_.announcements_received;
        auto const fresh = admit(ctx, in, m);
        if (!fresh)
            return;
        if (*fresh && !apply(ctx, m.origin))
            return; // a forgery or a stale copy goes no further
        forward(ctx, in, m, *fresh);
    }

    template <class Ctx>
    void on_message(Ctx& ctx, inbound const& in, fb_peer_update const& m)
    {
        ++stats_.updates_received;
        auto const fresh = admit(ctx, in, m);
        if (!fresh)
            return;
        if (*fresh) {
            if (m.online) {
                if (!apply(ctx, m.origin))
                    return; // a forgery or a stale copy goes no further
            } else if (!authentic(ctx, m.origin)) {
                return; // a departure only its author can sign
            } else if (cached_peer const* known = ctx.discovery().find(m.origin.id);
                       known && known->version <= m.origin.version) {
                ctx.discovery().erase(m.origin.id);
            }
        }
        forward(ctx, in, m, *fresh);
    }

    template <class Ctx>
    void on_message(Ctx& ctx, inbound const& in, fb_heartbeat const& m)
    {
        if (!valid_ttl(m.ttl))
            return;
        bool const fresh = seen_.insert({in.header.sender, in.header.message_id}, ctx.now());
        if (fresh)
            ctx.discovery().touch(in.header.sender, ctx.now());
        forward(ctx, in, m, fresh);
    }

    template <class Ctx>
    void on_message(Ctx& ctx, inbound const& in, fb_peer_request const& m)
    {
        if (!valid_ttl(m.ttl) || in.header.hops != 0)
            return;
        // A full answer is many datagrams: only a neighbour (a connection the
        // connector proved) gets one, so a forged source cannot aim it at a victim.
        if (std::none_of(neighbors_.begin(), neighbors_.end(), [&](neighbor const& n) { return n.address == in.from; })) {
            ++stats_.rejected_unsolicited;
            return;
        }
        std::vector<peer_record> records;
        if (m.target) {
            if (*m.target == ctx.self() && cfg_.broadcasting && self_.version)
                records.push_back(self_);
            else if (cached_peer const* p = ctx.discovery().find(*m.target))
                if (auto r = shareable(*p, whole_seconds(ctx.now()), ctx.signs_records()))
                    records.push_back(std::move(*r));
        } else {
            if (cfg_.broadcasting && (m.since == 0 || self_changed_rev_ > m.since) && self_.address)
                records.push_back(self_);
            for (auto const& p : ctx.discovery().peers()) {
                if (records.size() >= cfg_.max_sync_records)
                    break;
                if ((m.since == 0 || p.changed_rev > m.since) && p.id != in.header.sender)
                    if (auto r = shareable(p, whole_seconds(ctx.now()), ctx.signs_records()))
                        records.push_back(std::move(*r));
            }
        }
        // Always answer, if only with an empty chunk, so the requester can close its request.
        std::size_t const per = std::max<std::size_t>(1, cfg_.records_per_chunk);
        std::size_t const chunks = std::max<std::size_t>(1, (records.size() + per - 1) / per);
        for (std::size_t c = 0; c < chunks; ++c) {
            fb_peer_list_response r{m.request_id, ctx.discovery().revision(), static_cast<std::uint16_t>(c),
                                    static_cast<std::uint16_t>(chunks), {}};
            for (std::size_t i = c * per; i < std::min(records.size(), (c + 1) * per); ++i)
                r.peers.push_back(records[i]);
            ++stats_.sync_chunks_sent;
            ctx.send(in.from, r);
        }
    }

    template <class Ctx>
    void on_message(Ctx& ctx, inbound const& in, fb_peer_list_response const& m)
    {
        // Only answers to our own requests are taken: a node cannot push a list on us.
        auto it = std::find_if(pending_.begin(), pending_.end(),
                               [&](pending_request const& p) { return p.id == m.request_id && p.to == in.from; });
        if (it == pending_.end() || m.chunks == 0 || m.chunk >= m.chunks) {
            ++stats_.rejected_unsolicited;
            return;
        }
        if (it->got.size() != m.chunks) {
            it->got.assign(m.chunks, false);
            it->received = 0;
        }
        if (it->got[m.chunk]) {
            ++stats_.duplicates; // a duplicated chunk must not stand in for a lost one
            return;
        }
        it->got[m.chunk] = true;
        for (auto const& r : m.peers)
            apply(ctx, r);
        if (++it->received >= m.chunks) {
            pending_.erase(it);
            // Complete: the next pull from this neighbour asks only for what changed since.
            for (auto& n : neighbors_)
                if (n.address == in.from)
                    n.synced = std::max(n.synced, m.as_of);
        }
    }

    template <class Ctx>
    void on_timer(Ctx& ctx, std::uint64_t tag)
    {
        ctx.discovery().observe_time(ctx.now());
        if (tag == pull_tag) {
            ctx.set_timer(jitter(ctx, cfg_.pull_interval), pull_tag);
            ctx.discovery().evict_stale();
            if (!neighbors_.empty()) {
                neighbor const& n = neighbors_[ctx.rng().below(neighbors_.size())];
                request(ctx, n.address, n.synced);
            }
        } else if (tag == heartbeat_tag) {
            ctx.set_timer(cfg_.heartbeat_interval, heartbeat_tag);
            auto const up = std::chrono::duration_cast<std::chrono::seconds>(ctx.now() - started_).count();
            fb_heartbeat const hb{cfg_.heartbeat_ttl, static_cast<std::uint32_t>(ctx.discovery().peers().size()),
                                  static_cast<std::uint64_t>(up)};
            for (auto const& n : neighbors_)
                ctx.send(n.address, hb);
        } else if (tag == publish_tag) {
            publish_armed_ = false;
            if (!announced_) {
                announced_ = true;
                ++stats_.announcements_sent;
                spread(ctx, fb_peer_announcement{cfg_.max_ttl, self_}, {});
                ctx.set_timer(refresh_delay(ctx), refresh_tag);
            } else {
                ++stats_.updates_sent;
                spread(ctx, fb_peer_update{cfg_.max_ttl, self_, true}, {});
            }
        } else if (tag == refresh_tag) {
            ctx.set_timer(refresh_delay(ctx), refresh_tag);
            if (cfg_.broadcasting && announced_) {
                bump_version(ctx);
                ++stats_.announcements_sent;
                spread(ctx, fb_peer_announcement{cfg_.max_ttl, self_}, {});
            }
        }
    }

private:
    static constexpr std::uint64_t pull_tag = 1, heartbeat_tag = 2, refresh_tag = 3, publish_tag = 4;

    struct neighbor {
        node_id id;
        endpoint address;
        /// The `as_of` of its last complete answer: a revision of its cache.
        std::uint64_t synced = 0;
    };

    struct pending_request {
        std::uint64_t id;
        endpoint to;
        std::size_t received;
        std::vector<bool> got; // which chunks arrived
    };

    /** Our record changed or was refreshed: a new version, and a new revision for incremental pulls.

        The version counts changes within this run, above the run's
        incarnation in the high 32 bits, so a restarted node's record beats
        every copy of its previous run's without any clock.
    */
    template <class Ctx>
    void bump_version(Ctx& ctx)
    {
        self_.version = std::max(self_.version + 1, (ctx.incarnation() << 32) + 1);
        self_changed_rev_ = ctx.discovery().next_revision();
        // Every change of our record passes through here: sign what now goes out.
        self_.signature = ctx.sign(signing_bytes(self_));
    }

    template <class Ctx>
    duration jitter(Ctx& ctx, duration d)
    {
        auto const n = std::max<duration::rep>(1, d.count());
        return duration(n / 2 + static_cast<duration::rep>(ctx.rng().below(static_cast<std::uint64_t>(n))));
    }

    template <class Ctx>
    duration refresh_delay(Ctx& ctx)
    {
        return duration(ctx.rng().between(cfg_.refresh_min.count(), cfg_.refresh_max.count()));
    }

    bool valid_ttl(std::uint8_t ttl)
    {
        if (ttl == 0 || ttl > cfg_.max_ttl) {
            ++stats_.rejected_ttl;
            return false;
        }
        return true;
    }

    /** Flashback's checks for a message about its origin: TTL, and that it speaks for its sender only.

        @return nothing to drop it, else whether it is new (not a duplicate).
    */
    template <class Ctx, class M>
    std::optional<bool> admit(Ctx& ctx, inbound const& in, M const& m)
    {
        if (!valid_ttl(m.ttl))
            return std::nullopt;
        if (m.origin.id != in.header.sender || m.origin.id == ctx.self())
            return std::nullopt;
        return seen_.insert({in.header.sender, in.header.message_id}, ctx.now());
    }

    /** Whether `r` is its author's word and no older than what the cache holds.

        A copy identical, field for field but the age, to the one the cache
        verified is not checked again: a bootstrap node hears each record
        many times, and a verification costs 55 µs. (The same signature
        with any field changed is checked, and fails.)
    */
    template <class Ctx>
    bool authentic(Ctx& ctx, peer_record const& r)
    {
        cached_peer const* known = ctx.discovery().find(r.id);
        if (known && known->version > r.version) {
            ++stats_.records_stale;
            return false;
        }
        if (known && known->signed_record && known->signed_record->signature == r.signature) {
            peer_record ageless = r; // same signature: is it the same record, or the signature on other fields?
            ageless.age_s = 0;
            if (*known->signed_record == ageless)
                return true;
        }
        if (!ctx.verify(r.id, signing_bytes(r), r.signature)) {
            ++stats_.records_forged;
            return false;
        }
        return true;
    }

    /// Merges `r` into the cache. @return false when it is refused: worth passing on only if true.
    template <class Ctx>
    bool apply(Ctx& ctx, peer_record const& r)
    {
        if (r.introducers.size() > peer_record::max_introducers) {
            ++stats_.records_refused; // it would not fit a chunk to pass on
            return false;
        }
        if (!authentic(ctx, r))
            return false;
        if (r.id == ctx.self()) {
            refute(ctx, r);
            return true;
        }
        if (std::chrono::seconds(r.age_s) > cfg_.max_record_age) {
            ++stats_.rejected_expired; // it would be evicted at once: its origin is long silent
            return false;
        }
        auto p = to_cached(r, whole_seconds(ctx.now()));
        if (!p) {
            ++stats_.records_refused;
            return false;
        }
        if (ctx.discovery().upsert(std::move(*p), ctx.now()))
            ++stats_.records_applied;
        return true;
    }

    /** A copy of our own record came back with a higher version than ours.

        Versions start at this run's incarnation (`ctx.incarnation()`, kept
        in the node's storage), so this happens only when storage was lost:
        an earlier run's copies would win every merge until they expire.
        Take a version past them and tell the mesh again, as SWIM refutes.
    */
    template <class Ctx>
    void refute(Ctx& ctx, peer_record const& r)
    {
        if (r.version <= self_.version || !cfg_.broadcasting || !self_.address)
            return;
        ++stats_.self_refutations;
        self_.version = r.version;
        bump_version(ctx);
        if (announced_ && !publish_armed_) {
            publish_armed_ = true;
            ctx.set_timer(cfg_.settle_delay, publish_tag);
        }
    }

    template <class Ctx>
    void add_neighbor(Ctx& ctx, node_id const& id, endpoint const& address)
    {
        for (auto& n : neighbors_)
            if (n.id == id) {
                n.address = address;
                return;
            }
        if (neighbors_.size() >= cfg_.max_neighbors)
            return;
        neighbors_.push_back({id, address, 0});
        ctx.send(address, fb_hello{self_.address && cfg_.broadcasting ? self_ : anonymous(), cfg_.bootstrap});
        request(ctx, address, 0); // full sync
    }

    /// Our record with nothing that identifies where we are: what a non-broadcasting node says of itself.
    peer_record anonymous() const
    {
        peer_record r;
        r.id = self_.id;
        r.capabilities = self_.capabilities;
        return r;
    }

    template <class Ctx>
    void request(Ctx& ctx, endpoint const& to, std::uint64_t since)
    {
        if (pending_.size() >= cfg_.max_pending_requests)
            pending_.pop_front(); // the oldest is the likeliest lost
        std::uint64_t const id = ctx.rng()() | 1;
        pending_.push_back({id, to, 0, {}});
        ++stats_.requests_sent;
        ctx.send(to, fb_peer_request{id, 1, since, std::nullopt});
    }

    /// Sends a fresh message of ours to `fanout` random neighbours (excluding `except`).
    template <class Ctx, class M>
    void spread(Ctx& ctx, M const& m, endpoint const& except)
    {
        for (endpoint const& to : pick(ctx, except))
            ctx.send(to, m);
    }

    /// Forwards another node's message with TTL - 1; a duplicate only with the re-forward probability.
    template <class Ctx, class M>
    void forward(Ctx& ctx, inbound const& in, M m, bool fresh)
    {
        if (!fresh) {
            ++stats_.duplicates;
            if (!ctx.rng().chance(cfg_.duplicate_forward))
                return;
        }
        if (m.ttl <= 1)
            return;
        --m.ttl;
        for (endpoint const& to : pick(ctx, in.from))
            ctx.forward(to, in.header, m);
    }

    template <class Ctx>
    std::vector<endpoint> pick(Ctx& ctx, endpoint const& except)
    {
        std::vector<endpoint> out;
        if (neighbors_.size() <= cfg_.fanout + 1) {
            for (auto const& n : neighbors_)
                if (n.address != except && out.size() < cfg_.fanout)
                    out.push_back(n.address);
            return out;
        }
        // A bootstrap node has hundreds of neighbours: draw, do not shuffle them all.
        for (std::size_t tries = 0; out.size() < cfg_.fanout && tries < 4 * cfg_.fanout; ++tries) {
            endpoint const& e = neighbors_[ctx.rng().below(neighbors_.size())].address;
            if (e != except && std::find(out.begin(), out.end(), e) == out.end())
                out.push_back(e);
        }
        return out;
    }

    peer_gossip_config cfg_;
    broadcast::dedup_cache seen_;
    peer_record self_;
    /// The cache revision our own record last changed at: incremental pulls compare it with their `since`.
    std::uint64_t self_changed_rev_ = 0;
    bool publish_armed_ = false;
    bool announced_ = false;
    std::vector<neighbor> neighbors_;
    std::deque<pending_request> pending_;
    time_point started_{};
    peer_gossip_stats stats_;
};

} // namespace meshkit::discovery

#endif // MESHKIT_DISCOVERY_PEER_GOSSIP_HPP

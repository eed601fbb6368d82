// broadcast/plumtree.hpp
// ~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_BROADCAST_PLUMTREE_HPP
#define MESHKIT_BROADCAST_PLUMTREE_HPP

#include <meshkit/broadcast/broadcast_stats.hpp>
#include <meshkit/broadcast/delivered.hpp>
#include <meshkit/broadcast/message_key.hpp>
#include <meshkit/broadcast/plumtree_messages.hpp>
#include <meshkit/broadcast/ready_to_publish.hpp>
#include <meshkit/broadcast/seen_messages.hpp>
#include <meshkit/error.hpp>
#include <meshkit/inbound.hpp>
#include <meshkit/link_events.hpp>
#include <meshkit/peer_info.hpp>
#include <meshkit/result.hpp>
#include <meshkit/time.hpp>
#include <meshkit/type_list.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <span>
#include <string_view>
#include <vector>

namespace meshkit::broadcast {

/** Settings of the Plumtree engine.

    Defaults follow iroh-gossip and the paper except the graft timeouts.
    iroh's T1 of 80 ms (its "guess") is shorter than the time an eager copy
    needs to cross an overlay of internet-like links (10-50 ms one way,
    10-25 hops): IHAVEs then trigger grafts for messages that were merely
    on their way (an overlay of 1,000 to 100,000 nodes is 9 to 16 hops deep
    on such links), each graft closes a cycle and the duplicates it causes
    prune tree edges again. Measured on 1,000 nodes with random senders
    (bench/ and tests/broadcast): RMR 0.54 at 80 ms, 0.07 at 200 ms, 0.002 at
    400 ms, with no message missed and the same last-delivery time.

    Windows are set in time and bounded in bytes (docs/broadcast.md): a
    payload stays repairable for at least the repair window (T1, then
    `max_graft_attempts` T2s, then the largest round trip measured), an id
    is remembered for at least as long as a copy can still arrive (the
    cache retention plus `max_hops` times the largest link delay), and each
    bound that forces something out early counts it.
*/
struct plumtree_config {
    /// Wait after the first IHAVE for a missing message before grafting (T1): about the overlay's diameter in time.
    duration graft_timeout_1 = std::chrono::milliseconds(400);
    /// Wait before grafting the next announcer when a graft went unanswered (T2): about one RTT.
    duration graft_timeout_2 = std::chrono::milliseconds(100);
    /// IHAVEs, GRAFTs and PRUNEs are batched for this long, so control traffic costs one datagram per batch.
    duration ihave_dispatch = std::chrono::milliseconds(5);
    /// An IHAVE at least this many hops shorter than the eager copy's path swaps the links (tree optimisation).
    std::uint16_t optimization_threshold = 7;
    /// A copy that travelled this many hops is delivered but not forwarded; bounds how long copies can float.
    std::uint16_t max_hops = 64;
    /// How long payloads stay available to answer GRAFTs, at least (never less than the repair window).
    duration message_cache_retention = std::chrono::seconds(30);
    /// How long delivered ids are remembered, at least (never less than a copy can still arrive).
    duration message_id_retention = std::chrono::seconds(90);
    /// How often expired cache entries are swept.
    duration cache_evict_interval = std::chrono::seconds(1);
    /// The most payload bytes the repair cache holds (oldest evicted first, counted if still within the repair window).
    std::size_t max_cache_bytes = std::size_t{32} << 20;
    /// The most bytes the table of seen ids may stand for (seen_messages.hpp: runs of consecutive ids).
    std::size_t max_seen_bytes = std::size_t{8} << 20;
    /// The most messages announced but not yet received, tracked at once.
    std::size_t max_missing = 16384;
    /// More messages missing at once than this, with no first copy for T2, means the node is off the tree: it grafts after T2, not T1.
    std::size_t off_tree_backlog = 64;
    /// The most announcers remembered per missing message.
    std::size_t max_announcers = 8;
    /// GRAFTs sent for one missing message, cycling through its announcers, before waiting for a new IHAVE.
    unsigned max_graft_attempts = 6;
    /// The largest payload `broadcast` accepts: one 1,200-byte datagram less envelope and header.
    std::size_t max_payload = default_max_payload;

    // -- flow control: per neighbour, by acknowledgement ------------------------

    /// Payload copies in flight (sent, not yet acknowledged) per neighbour, and the credit a receiver grants; more wait in a queue.
    std::uint32_t send_window = 256;
    /** Bytes of payload copies queued per neighbour behind a closed window; past it, eager copies become IHAVEs.

        A node stops granting credit upstream at a quarter of this, and
        what it granted before can still arrive: the other three quarters
        absorb about two full windows of the largest payloads (2 x 256 x
        1,100 bytes), so backpressure, not overflow, stops a relay's inflow.
    */
    std::size_t max_queue_bytes = std::size_t{1} << 20;
    /// A receiver acknowledges after this many payloads from one neighbour...
    std::uint32_t ack_every = 32;
    /// ...or this long after the first one it has not acknowledged.
    duration ack_delay = std::chrono::milliseconds(1);
    /// A window with no acknowledgement for this long is presumed lost and opens again.
    duration ack_timeout = std::chrono::milliseconds(200);
};

/** Plumtree: epidemic broadcast trees (Leitão, Pereira, Rodrigues, SRDS 2007).

    Payloads travel eagerly along a spanning tree that the protocol carves
    out of the membership engine's active view; every other link carries
    only batched IHAVE announcements. A duplicate prunes its link to lazy, a
    missing message grafts the announcer back to eager, so the tree repairs
    itself and, in a stable overlay, each node receives each payload once.

    It learns its neighbours from `link_up` / `link_down` events
    (HyParView's), and emits `delivered` for each first receipt.

    **Flow control.** Each payload copy carries its number on the link; the
    receiver acknowledges (`pt_ack`, cumulative, coalesced) and grants
    credit: the highest number the sender may send. A neighbour has at most
    `send_window` copies in flight and none past its credit; more wait in
    its queue, up to `max_queue_bytes`. When a neighbour's queue is half
    full, `broadcast` refuses with `errc::queue_full` and nothing is
    accepted; `ready_to_publish` follows once every queue is below a
    quarter. A node whose queues hold a quarter keeps acknowledging but
    stops granting credit, so the backpressure travels hop by hop up to the
    publisher. A copy this node forwards for others into a full queue
    becomes an IHAVE, so the neighbour grafts it when it has caught up:
    nothing is lost, and `eager_overflow` counts it.

    **Directional tree.** The eager set is whom this node pushes to. A
    duplicate asks its sender to stop (PRUNE) and a GRAFT asks the
    announcer to push again; neither changes which neighbours this node
    pushes to: only a neighbour's own PRUNE and GRAFT do.

    **Never twice, never to itself.** Seen ids are kept per origin as runs
    of consecutive numbers under a floor (seen_messages.hpp), so a copy
    that comes back after its id left is refused, not delivered again, and
    a copy of this node's own broadcast is never delivered to it.
*/
class plumtree {
public:
    using messages = plumtree_messages;
    using events = type_list<delivered, ready_to_publish, published>;

    /// Its run-time settings: `node_config::engine<plumtree>()` on a node.
    using config_type = plumtree_config;

    explicit plumtree(plumtree_config cfg = {})
        : cfg_(cfg), seen_(cfg.max_seen_bytes, cfg.message_id_retention)
    {
    }

    // -- engine hooks ---------------------------------------------------------

    template <class Ctx>
    void start(Ctx& ctx)
    {
        // Sequence numbers start from the clock and a random draw, so a
        // restarted node's broadcasts are not taken for its previous life's.
        if (next_seq_ == 0)
            next_seq_ = first_sequence(ctx);
        // The drop counters exist from the start, at 0: "none yet" is an answer.
        for (std::string_view name : drop_metrics)
            ctx.metrics().increment(name, 0);
        ctx.set_timer(cfg_.cache_evict_interval, evict_tag);
        // A stop() killed every pending timer: re-arm what the state still needs.
        timers_.clear();
        flush_armed_ = ack_armed_ = flow_armed_ = false;
        for (auto& [key, m] : missing_) {
            m.timer_tag = 0;
            if (!m.announcers.empty())
                arm_graft(ctx, key, m, cfg_.graft_timeout_2);
        }
        if (!queued_.empty() || !pending_grafts_.empty() || !pending_prunes_.empty())
            arm_flush(ctx);
        arm_flow(ctx);
        if (std::any_of(flows_.begin(), flows_.end(), [](auto const& kv) { return kv.second.unacked > 0; })) {
            ack_armed_ = true;
            ctx.set_timer(cfg_.ack_delay, ack_tag);
        }
    }

    /** Broadcasts `payload` to every node of the overlay.

        @return the message's key; `errc::message_too_large` when the
        payload exceeds `max_payload`; `errc::queue_full` when a
        neighbour cannot take more now (nothing was accepted: keep the
        payload and publish it again after `ready_to_publish`).
    */
    template <class Ctx>
    result<message_key> broadcast(Ctx& ctx, std::span<std::byte const> payload)
    {
        if (payload.size() > cfg_.max_payload)
            return make_error_code(errc::message_too_large);
        if (backlogged(cfg_.max_queue_bytes / 2)) {
            ++stats_.publish_refused;
            ctx.metrics().increment("meshkit_broadcast_publish_refused_total", 1);
            refused_ = true;
            return make_error_code(errc::queue_full);
        }
        message_key const key{ctx.self(), ++next_seq_};
        std::uint64_t const version = ++version_;
        see(ctx, key);
        remember(ctx, key, 0, node_id{}, version, payload);
        pt_gossip const g{key, 1, 0, version, std::vector<std::byte>(payload.begin(), payload.end())};
        ctx.emit(published{key, version, g.payload});
        for (auto const& p : eager_)
            forward(ctx, p, g);
        for (auto const& p : lazy_)
            announce(ctx, p, key, 1);
        return key;
    }

    template <class Ctx>
    void on_message(Ctx& ctx, inbound const& in, pt_gossip const& g)
    {
        peer_info const from{in.header.sender, in.from};
        // As for IHAVE, GRAFT and PRUNE: only a neighbour pushes payloads.
        // A stranger's copy would be delivered under whatever origin it
        // names, and its key would make the genuine broadcast a duplicate.
        if (!is_neighbor(from)) {
            ++stats_.from_strangers;
            ctx.metrics().increment("meshkit_broadcast_from_strangers_total", 1);
            return;
        }
        ++stats_.payloads_received;
        received_from(ctx, from, g.link_seq);
        seen_verdict const v = g.key.origin == ctx.self() ? seen_verdict::duplicate : see(ctx, g.key);
        if (v != seen_verdict::fresh) {
            if (g.key.origin == ctx.self()) {
                ++stats_.own_returned;
                ctx.metrics().increment("meshkit_broadcast_own_returned_total", 1);
            } else if (v == seen_verdict::too_old) {
                ++stats_.too_old;
                ctx.metrics().increment("meshkit_broadcast_too_old_total", 1);
            }
            // A duplicate: the sender's pushes to us are redundant, so ask it
            // to stop (PRUNE), even if we asked before: that PRUNE may be
            // lost. Only its pushes to us: whether ours to it are redundant
            // is for it to say. The paper cuts both directions here, which
            // under a steady stream lets a child's stray copy make its parent
            // stop feeding it. And never the neighbour our latest first copy
            // came from: at high rates two parents' copies race, each loses
            // some races, and pruning every loser would leave us off the
            // tree. The other parent is pruned at its next duplicate.
            ++stats_.duplicates;
            if (!is_neighbor(from))
                return;
            // A duplicate straight from its origin (round 1) after a relayed
            // first copy: the direct path only lost a race (a busy origin's
            // copies leave its queues one after another). Keep the origin
            // and prune the relay, or the origin's children end up feeding
            // each other and starve under load. Only round 1: preferring
            // fewer hops at every level makes each origin pull the links
            // its way, and with random senders redundancy rose (RMR 0.3).
            if (auto c = cache_.find(g.key);
                c != cache_.end() && g.round == 1 && c->second.round > 1 && c->second.from != from.id) {
                if (auto const* first = neighbor(c->second.from))
                    prune(ctx, *first);
                c->second.from = from.id;
                c->second.round = g.round;
                last_first_from_ = from.id;
            } else if (from.id != last_first_from_) {
                prune(ctx, from);
            }
            return;
        }
        ++stats_.first_receipts;
        last_fresh_ = ctx.now();
        last_first_from_ = from.id;
        if (auto m = missing_.find(g.key); m != missing_.end()) {
            if (m->second.timer_tag)
                timers_.erase(m->second.timer_tag);
            missing_.erase(m);
        }
        version_ = std::max(version_, g.version);
        remember(ctx, g.key, g.round, from.id, g.version, g.payload);
        ctx.emit(delivered{g.key, g.round, from, g.payload, g.version});
        if (g.round >= cfg_.max_hops) {
            ++stats_.hop_limited;
            ctx.metrics().increment("meshkit_broadcast_hop_limited_total", 1);
            return;
        }
        pt_gossip fwd{g.key, static_cast<std::uint16_t>(g.round + 1), 0, g.version, g.payload};
        for (auto const& p : eager_)
            if (p.id != from.id)
                forward(ctx, p, fwd);
        for (auto const& p : lazy_)
            if (p.id != from.id)
                announce(ctx, p, g.key, fwd.round);
    }

    template <class Ctx>
    void on_message(Ctx& ctx, inbound const& in, pt_ihave const& ih)
    {
        peer_info const from{in.header.sender, in.from};
        // Only neighbours announce to us: a stranger's IHAVEs would fill
        // missing_ and turn each fake key into GRAFTs to wherever it points.
        if (!is_neighbor(from))
            return;
        std::size_t processed = 0;
        for (auto const& e : ih.entries) {
            if (++processed > max_entries)
                break; // more than one datagram's worth is not what we send
            if (e.key.origin == ctx.self() || seen_.contains(e.key)) {
                optimize(ctx, from, e);
                continue;
            }
            auto it = missing_.find(e.key);
            if (it == missing_.end()) {
                if (missing_.size() >= cfg_.max_missing) {
                    // No room to track it: ask for it at once, untracked
                    // (a lost reply is not retried), rather than drop it.
                    ++stats_.missing_overflow;
                    ctx.metrics().increment("meshkit_broadcast_missing_overflow_total", 1);
                    request(ctx, from, e.key, e.round);
                    continue;
                }
                it = missing_.emplace(e.key, missing_entry{{}, 0, ctx.now()}).first;
            }
            auto& m = it->second;
            if (m.announcers.size() < cfg_.max_announcers &&
                std::none_of(m.announcers.begin(), m.announcers.end(),
                             [&](announcer const& a) { return a.peer.id == from.id; })) {
                m.announcers.push_back({from, e.round});
                m.grafts = 0; // a new announcer earns a new round of attempts
            }
            // T1 leaves time for an eager copy on its way. With many
            // messages missing and no first copy for a round trip, a whole
            // stream is passing us by (our parent went or pruned us): wait
            // only about a round trip (T2). Copies merely queued behind a
            // window still arrive, so a stream that keeps arriving is never
            // taken for a lost parent. (Whom we push to, eager_, says
            // nothing about who pushes to us: the tree is directional.)
            bool const off_tree =
                missing_.size() > cfg_.off_tree_backlog && ctx.now() - last_fresh_ > cfg_.graft_timeout_2;
            if (m.timer_tag == 0)
                arm_graft(ctx, it->first, m, off_tree ? cfg_.graft_timeout_2 : cfg_.graft_timeout_1);
        }
    }

    template <class Ctx>
    void on_message(Ctx& ctx, inbound const& in, pt_graft const& gr)
    {
        peer_info const from{in.header.sender, in.from};
        if (!is_neighbor(from))
            return; // a stranger's GRAFT would make us reflect payloads at it
        make_eager(from);
        std::size_t processed = 0;
        for (auto const& e : gr.entries) {
            if (++processed > max_entries)
                break;
            auto it = cache_.find(e.key);
            if (it == cache_.end()) {
                ++stats_.graft_misses;
                ctx.metrics().increment("meshkit_broadcast_graft_misses_total", 1);
                continue;
            }
            pt_gossip const reply{e.key, static_cast<std::uint16_t>(it->second.round + 1), 0, it->second.version,
                                  it->second.payload};
            if (!send_payload(ctx, from, reply)) {
                ++stats_.graft_replies_dropped;
                ctx.metrics().increment("meshkit_broadcast_graft_replies_dropped_total", 1);
            }
        }
    }

    template <class Ctx>
    void on_message(Ctx&, inbound const& in, pt_prune const&)
    {
        if (is_neighbor(peer_info{in.header.sender, in.from}))
            make_lazy(peer_info{in.header.sender, in.from});
    }

    template <class Ctx>
    void on_message(Ctx& ctx, inbound const& in, pt_ack const& a)
    {
        auto it = flows_.find(in.header.sender);
        if (it == flows_.end() || it->second.address != in.from)
            return;
        link_flow& f = it->second;
        // An ack of something never sent is forged or stale: it moves nothing.
        if (ahead(a.link_seq, f.sent))
            return;
        bool progress = false;
        if (ahead(a.link_seq, f.acked)) {
            f.acked = a.link_seq;
            progress = true;
            if (f.probe_seq != 0 && !ahead(f.probe_seq, a.link_seq)) {
                duration const rtt = ctx.now() - f.probe_at;
                largest_rtt_ = std::max(largest_rtt_, rtt);
                f.probe_seq = 0;
            }
        }
        // Credit only grows; however large, our own send_window caps what is in flight.
        if (ahead(a.limit, f.limit)) {
            f.limit = a.limit;
            progress = true;
        }
        if (progress)
            f.last_progress = ctx.now();
        drain(ctx, f);
        maybe_ready(ctx);
        release_credit(ctx);
    }

    /// A broadcast another engine obtained (anti-entropy): seen, so the tree's copy is a duplicate.
    template <class Ctx>
    void on_event(Ctx& ctx, recovered const& e)
    {
        version_ = std::max(version_, e.version);
        if (e.key.origin == ctx.self())
            return;
        see(ctx, e.key);
        if (auto m = missing_.find(e.key); m != missing_.end()) {
            if (m->second.timer_tag)
                timers_.erase(m->second.timer_tag);
            missing_.erase(m);
        }
    }

    template <class Ctx>
    void on_event(Ctx& ctx, link_up const& e)
    {
        // A transient child is served by its substrate's attachment engine, not the tree.
        if (e.method == link_method::attached)
            return;
        // A relayed link's address is the relay's: no tree edge goes through it.
        if (e.method == link_method::relayed) {
            on_event(ctx, link_down{e.peer, e.address});
            return;
        }
        // A known neighbour re-announced at a new address keeps its link state.
        for (auto* set : {&eager_, &lazy_})
            for (auto& p : *set)
                if (p.id == e.peer) {
                    p.address = e.address;
                    flows_[e.peer].address = e.address;
                    return;
                }
        eager_.push_back(peer_info{e.peer, e.address});
        flows_[e.peer] = make_flow(e.address, cfg_.send_window);
    }

    template <class Ctx>
    void on_event(Ctx& ctx, link_down const& e)
    {
        erase(eager_, e.peer);
        erase(lazy_, e.peer);
        if (auto f = flows_.find(e.peer); f != flows_.end()) {
            if (auto const lost = f->second.queue.size()) {
                stats_.queued_dropped += lost;
                ctx.metrics().increment("meshkit_broadcast_queued_dropped_total", lost);
            }
            flows_.erase(f);
        }
        std::erase_if(queued_, [&](queued_ihave const& q) { return q.to.id == e.peer; });
        pending_grafts_.erase(e.peer);
        pending_prunes_.erase(e.peer);
        for (auto& [key, m] : missing_)
            std::erase_if(m.announcers, [&](announcer const& a) { return a.peer.id == e.peer; });
        maybe_ready(ctx);
        release_credit(ctx);
    }

    template <class Ctx>
    void on_timer(Ctx& ctx, std::uint64_t tag)
    {
        if (tag == evict_tag) {
            evict(ctx);
            ctx.set_timer(cfg_.cache_evict_interval, evict_tag);
        } else if (tag == flush_tag) {
            flush_armed_ = false;
            flush(ctx);
        } else if (tag == ack_tag) {
            ack_armed_ = false;
            for (auto& [id, f] : flows_)
                if (f.unacked)
                    send_ack(ctx, f);
        } else if (tag == flow_tag) {
            flow_armed_ = false;
            reopen_stalled(ctx);
        } else {
            graft_timeout(ctx, tag);
        }
    }

    // -- queries --------------------------------------------------------------

    [[nodiscard]] std::vector<peer_info> const& eager_peers() const noexcept { return eager_; }
    [[nodiscard]] std::vector<peer_info> const& lazy_peers() const noexcept { return lazy_; }
    [[nodiscard]] std::size_t cached_messages() const noexcept { return cache_.size(); }
    [[nodiscard]] std::size_t cached_bytes() const noexcept { return cached_bytes_; }
    [[nodiscard]] std::size_t missing_messages() const noexcept { return missing_.size(); }
    [[nodiscard]] seen_messages const& seen() const noexcept { return seen_; }
    [[nodiscard]] plumtree_config const& config() const noexcept { return cfg_; }
    [[nodiscard]] broadcast_stats const& stats() const noexcept { return stats_; }

    /// Payload copies waiting behind full windows, over all neighbours.
    [[nodiscard]] std::size_t queued_copies() const noexcept
    {
        std::size_t n = 0;
        for (auto const& [id, f] : flows_)
            n += f.queue.size();
        return n;
    }

    /// The largest round trip measured on any link (an acknowledged copy).
    [[nodiscard]] duration largest_rtt() const noexcept { return largest_rtt_; }

    /// How long a payload stays repairable at least: T1, the GRAFT attempts, and the largest round trip.
    [[nodiscard]] duration repair_window() const noexcept
    {
        return cfg_.graft_timeout_1 + cfg_.graft_timeout_2 * cfg_.max_graft_attempts + largest_rtt_;
    }

    /// How long a payload stays cached: the configured retention, never less than the repair window.
    [[nodiscard]] duration cache_retention() const noexcept
    {
        return std::max(cfg_.message_cache_retention, repair_window());
    }

    /** How long an id is remembered: never less than a copy can still arrive.

        A copy forwarded out of a cache (a GRAFT answered at the end of the
        retention) can still cross `max_hops` links of the largest delay.
    */
    [[nodiscard]] duration id_window() const noexcept
    {
        return std::max(cfg_.message_id_retention, cache_retention() + (largest_rtt_ / 2) * cfg_.max_hops);
    }

    /// Bytes of the tree state (eager and lazy sets), excluding message caches.
    [[nodiscard]] std::size_t tree_state_bytes() const noexcept
    {
        return (eager_.capacity() + lazy_.capacity()) * sizeof(peer_info) + 2 * sizeof(std::vector<peer_info>);
    }

private:
    static constexpr std::uint64_t evict_tag = 1;
    static constexpr std::uint64_t flush_tag = 2;
    static constexpr std::uint64_t ack_tag = 3;
    static constexpr std::uint64_t flow_tag = 4;
    static constexpr std::uint64_t first_graft_tag = 16;

    /// What is refused, dropped or forgotten, as metrics (docs/broadcast.md, "Statistics").
    static constexpr std::array<std::string_view, 11> drop_metrics{
        "meshkit_broadcast_publish_refused_total",   "meshkit_broadcast_own_returned_total",
        "meshkit_broadcast_too_old_total",           "meshkit_broadcast_ids_evicted_early_total",
        "meshkit_broadcast_repair_evicted_early_total", "meshkit_broadcast_graft_misses_total",
        "meshkit_broadcast_eager_overflow_total",    "meshkit_broadcast_graft_replies_dropped_total",
        "meshkit_broadcast_queued_dropped_total",    "meshkit_broadcast_missing_overflow_total",
        "meshkit_broadcast_hop_limited_total"};

    /// IHAVE and GRAFT entries per datagram (46 + 1 + 25 * 42 bytes < 1,200); a receiver reads no more.
    static constexpr std::size_t max_entries = 25;
    /// What a cached payload costs besides its bytes: the map node and the order entry.
    static constexpr std::size_t cache_overhead = 128;

    struct cached {
        std::uint16_t round;
        node_id from;
        time_point at;
        std::uint64_t version;
        std::vector<std::byte> payload;
    };
    struct announcer {
        peer_info peer;
        std::uint16_t round;
    };
    struct missing_entry {
        std::vector<announcer> announcers;
        std::uint64_t timer_tag;
        time_point first_announced;
        unsigned grafts = 0;
    };
    struct queued_ihave {
        peer_info to;
        ihave_entry entry;
    };
    /// One neighbour's flow control, both ways.
    struct link_flow {
        endpoint address;
        // sending
        std::uint32_t sent = 0;  ///< link number of the last copy sent
        std::uint32_t acked = 0; ///< highest link number the neighbour acknowledged
        std::uint32_t limit = 0; ///< highest link number the neighbour lets us send (its credit)
        std::deque<pt_gossip> queue;
        std::size_t queued_bytes = 0;
        time_point last_progress{};
        std::uint32_t probe_seq = 0; ///< a copy whose acknowledgement measures the round trip
        time_point probe_at{};
        // receiving
        std::uint32_t received = 0; ///< link number of the last copy received
        std::uint32_t unacked = 0;  ///< copies received since our last ack
        std::uint32_t granted = 0;  ///< the credit we last gave it (the limit in our acks)
    };

    static link_flow make_flow(endpoint const& address, std::uint32_t window)
    {
        link_flow f;
        f.address = address;
        f.limit = f.granted = window; // both ends start from a full window
        return f;
    }

    /// Whether link number `a` is after `b` (serial number arithmetic: numbers wrap).
    static bool ahead(std::uint32_t a, std::uint32_t b) noexcept { return static_cast<std::int32_t>(a - b) > 0; }

    /// True when `p` is a neighbour at the address it has as one.
    [[nodiscard]] bool is_neighbor(peer_info const& p) const noexcept
    {
        auto const* known = neighbor(p.id);
        return known && known->address == p.address;
    }

    /// The neighbour `id` as we know it (eager or lazy), or null.
    [[nodiscard]] peer_info const* neighbor(node_id const& id) const noexcept
    {
        for (auto const* set : {&eager_, &lazy_})
            for (auto const& p : *set)
                if (p.id == id)
                    return &p;
        return nullptr;
    }

    static bool contains(std::vector<peer_info> const& v, node_id const& id)
    {
        return std::any_of(v.begin(), v.end(), [&](peer_info const& p) { return p.id == id; });
    }
    static bool erase(std::vector<peer_info>& v, node_id const& id)
    {
        return std::erase_if(v, [&](peer_info const& p) { return p.id == id; }) > 0;
    }

    /// Moves neighbour `p` to the eager set; a node that is not a neighbour is left out.
    void make_eager(peer_info const& p)
    {
        if (erase(lazy_, p.id))
            eager_.push_back(p);
    }

    /// Moves `p` to the lazy set; false if it was not eager (no prune needed).
    bool make_lazy(peer_info const& p)
    {
        if (!erase(eager_, p.id))
            return false;
        if (!contains(lazy_, p.id))
            lazy_.push_back(p);
        return true;
    }

    // -- the repair cache: by time, bounded in bytes --------------------------------

    template <class Ctx>
    void remember(Ctx& ctx, message_key const& key, std::uint16_t round, node_id const& from, std::uint64_t version,
                  std::span<std::byte const> payload)
    {
        auto [it, fresh] = cache_.try_emplace(key);
        if (!fresh)
            cached_bytes_ -= it->second.payload.size() + cache_overhead;
        else
            cache_order_.push_back(key);
        it->second = cached{round, from, ctx.now(), version, std::vector<std::byte>(payload.begin(), payload.end())};
        cached_bytes_ += payload.size() + cache_overhead;
        // Insertion order is age order: evict from the front.
        while (cached_bytes_ > cfg_.max_cache_bytes && !cache_order_.empty())
            drop_oldest_cached(ctx, true);
    }

    template <class Ctx>
    void drop_oldest_cached(Ctx& ctx, bool forced)
    {
        auto it = cache_.find(cache_order_.front());
        cache_order_.pop_front();
        if (it == cache_.end())
            return;
        if (forced && ctx.now() - it->second.at < repair_window()) {
            ++stats_.repair_evicted_early;
            ctx.metrics().increment("meshkit_broadcast_repair_evicted_early_total", 1);
        }
        cached_bytes_ -= it->second.payload.size() + cache_overhead;
        cache_.erase(it);
    }

    // -- sending payloads under flow control -----------------------------------------

    /// Sends an eager copy to `p`; a full queue turns it into an announcement.
    template <class Ctx>
    void forward(Ctx& ctx, peer_info const& p, pt_gossip const& g)
    {
        if (send_payload(ctx, p, g))
            return;
        ++stats_.eager_overflow;
        ctx.metrics().increment("meshkit_broadcast_eager_overflow_total", 1);
        announce(ctx, p, g.key, g.round);
    }

    /// Sends `g` to `p` now if its window is open, queues it if not; false if the queue is full too.
    template <class Ctx>
    bool send_payload(Ctx& ctx, peer_info const& p, pt_gossip const& g)
    {
        auto it = flows_.find(p.id);
        if (it == flows_.end()) // not a neighbour (cannot happen from the hooks): no window to respect
            it = flows_.emplace(p.id, make_flow(p.address, cfg_.send_window)).first;
        link_flow& f = it->second;
        if (f.queue.empty() && may_send(f)) {
            transmit(ctx, f, g);
            return true;
        }
        if (f.queued_bytes + g.payload.size() > cfg_.max_queue_bytes)
            return false;
        if (f.queue.empty())
            f.last_progress = ctx.now(); // the stall clock starts when something waits
        f.queue.push_back(g);
        f.queued_bytes += g.payload.size();
        arm_flow(ctx);
        return true;
    }

    static std::uint32_t in_flight(link_flow const& f) noexcept { return f.sent - f.acked; }

    /// Whether the window is open: under our own cap, and within the neighbour's credit.
    [[nodiscard]] bool may_send(link_flow const& f) const noexcept
    {
        return in_flight(f) < cfg_.send_window && ahead(f.limit, f.sent);
    }

    template <class Ctx>
    void transmit(Ctx& ctx, link_flow& f, pt_gossip const& g)
    {
        ++stats_.payloads_sent;
        if (in_flight(f) == 0)
            f.last_progress = ctx.now();
        pt_gossip copy = g; // the caller's copy goes to other neighbours too, with their own numbers
        copy.link_seq = ++f.sent;
        if (f.sent == 0) // 0 means "unnumbered": skip it when the numbers wrap
            copy.link_seq = ++f.sent;
        if (f.probe_seq == 0) {
            f.probe_seq = copy.link_seq;
            f.probe_at = ctx.now();
        }
        ctx.send(f.address, copy);
    }

    template <class Ctx>
    void drain(Ctx& ctx, link_flow& f)
    {
        while (!f.queue.empty() && may_send(f))
            transmit_front(ctx, f);
    }

    template <class Ctx>
    void transmit_front(Ctx& ctx, link_flow& f)
    {
        f.queued_bytes -= f.queue.front().payload.size();
        transmit(ctx, f, f.queue.front());
        f.queue.pop_front();
    }

    /// Whether some eager neighbour has at least `bytes` queued.
    [[nodiscard]] bool backlogged(std::size_t bytes) const noexcept
    {
        for (auto const& p : eager_)
            if (auto it = flows_.find(p.id); it != flows_.end() && !it->second.queue.empty() &&
                                               it->second.queued_bytes >= bytes)
                return true;
        return false;
    }

    template <class Ctx>
    void maybe_ready(Ctx& ctx)
    {
        if (refused_ && !backlogged(std::max<std::size_t>(1, cfg_.max_queue_bytes / 4))) {
            refused_ = false;
            ctx.emit(ready_to_publish{});
        }
    }

    /** Windows that stopped moving for `ack_timeout` open again.

        Copies in flight and no acknowledgement: the acks (or the copies)
        were lost, or the neighbour never acks; presume them received and
        grant ourselves a window. No credit left and nothing in flight: the
        neighbour's window update may have been lost, so one queued copy
        goes out as a probe, and its acknowledgement carries the credit.
    */
    template <class Ctx>
    void reopen_stalled(Ctx& ctx)
    {
        for (auto& [id, f] : flows_) {
            if (ctx.now() - f.last_progress < cfg_.ack_timeout)
                continue;
            if (in_flight(f) > 0) {
                f.acked = f.sent;
                if (ahead(f.sent + cfg_.send_window, f.limit))
                    f.limit = f.sent + cfg_.send_window;
                f.probe_seq = 0;
                f.last_progress = ctx.now();
                drain(ctx, f);
            } else if (!f.queue.empty()) {
                f.last_progress = ctx.now();
                transmit_front(ctx, f);
            }
        }
        maybe_ready(ctx);
        release_credit(ctx);
        arm_flow(ctx);
    }

    template <class Ctx>
    void arm_flow(Ctx& ctx)
    {
        if (flow_armed_)
            return;
        bool const waiting =
            std::any_of(flows_.begin(), flows_.end(), [](auto const& kv) { return !kv.second.queue.empty(); });
        if (!waiting)
            return;
        flow_armed_ = true;
        ctx.set_timer(cfg_.ack_timeout, flow_tag);
    }

    // -- acknowledging what we receive -------------------------------------------------

    template <class Ctx>
    void received_from(Ctx& ctx, peer_info const& from, std::uint32_t link_seq)
    {
        if (link_seq == 0)
            return;
        auto it = flows_.find(from.id);
        if (it == flows_.end() || it->second.address != from.address)
            return; // not a neighbour: it gets no window from us
        link_flow& f = it->second;
        if (f.unacked == 0 || ahead(link_seq, f.received))
            f.received = link_seq;
        ++f.unacked;
        if (f.unacked >= cfg_.ack_every) {
            send_ack(ctx, f);
        } else if (!ack_armed_) {
            ack_armed_ = true;
            ctx.set_timer(cfg_.ack_delay, ack_tag);
        }
    }

    /** Whether we withhold credit: some eager queue holds a quarter of its bound.

        Backpressure travels upstream: while our own queues are backed up,
        our acks stop raising the senders' limits, so their windows close,
        their queues fill and, hop by hop, the publisher is refused, instead
        of our queues overflowing into repairs.
    */
    [[nodiscard]] bool holding_credit() const noexcept { return backlogged(cfg_.max_queue_bytes / 4); }

    /// Once our queues drained, gives the credit withheld (a window update to each neighbour owed one).
    template <class Ctx>
    void release_credit(Ctx& ctx)
    {
        if (!credit_held_ || holding_credit())
            return;
        credit_held_ = false;
        for (auto& [id, f] : flows_)
            if (f.unacked || ahead(f.received + cfg_.send_window, f.granted))
                send_ack(ctx, f);
    }

    template <class Ctx>
    void send_ack(Ctx& ctx, link_flow& f)
    {
        f.unacked = 0;
        if (holding_credit())
            credit_held_ = true;
        else if (ahead(f.received + cfg_.send_window, f.granted))
            f.granted = f.received + cfg_.send_window;
        ctx.send(f.address, pt_ack{f.received, f.granted});
    }

    // -- control traffic, coalesced ----------------------------------------------------

    template <class Ctx>
    void arm_flush(Ctx& ctx)
    {
        if (flush_armed_)
            return;
        flush_armed_ = true;
        ctx.set_timer(cfg_.ihave_dispatch, flush_tag);
    }

    template <class Ctx>
    void announce(Ctx& ctx, peer_info const& to, message_key const& key, std::uint16_t round)
    {
        ++stats_.announcements_sent;
        queued_.push_back({to, {key, round}});
        arm_flush(ctx);
    }

    template <class Ctx>
    void prune(Ctx& ctx, peer_info const& to)
    {
        if (pending_prunes_.emplace(to.id, to.address).second) {
            ++stats_.prunes_sent;
            arm_flush(ctx);
        }
    }

    template <class Ctx>
    void flush(Ctx& ctx)
    {
        std::map<node_id, std::pair<endpoint, std::vector<ihave_entry>>> by_peer;
        for (auto const& q : queued_) {
            auto& slot = by_peer[q.to.id];
            slot.first = q.to.address;
            slot.second.push_back(q.entry);
        }
        queued_.clear();
        for (auto const& [id, slot] : by_peer)
            for (std::size_t i = 0; i < slot.second.size(); i += max_entries)
                ctx.send(slot.first, pt_ihave{chunk(slot.second, i)});
        for (auto const& [id, slot] : pending_grafts_) {
            if (slot.second.empty())
                ctx.send(slot.first, pt_graft{});
            for (std::size_t i = 0; i < slot.second.size(); i += max_entries)
                ctx.send(slot.first, pt_graft{chunk(slot.second, i)});
        }
        pending_grafts_.clear();
        for (auto const& [id, address] : pending_prunes_)
            ctx.send(address, pt_prune{});
        pending_prunes_.clear();
    }

    template <class T>
    static std::vector<T> chunk(std::vector<T> const& v, std::size_t from)
    {
        auto const end = std::min(v.size(), from + max_entries);
        return {v.begin() + static_cast<std::ptrdiff_t>(from), v.begin() + static_cast<std::ptrdiff_t>(end)};
    }

    template <class Ctx>
    void arm_graft(Ctx& ctx, message_key const& key, missing_entry& m, duration after)
    {
        m.timer_tag = next_tag_++;
        timers_[m.timer_tag] = key;
        ctx.set_timer(after, m.timer_tag);
    }

    template <class Ctx>
    void graft_timeout(Ctx& ctx, std::uint64_t tag)
    {
        auto t = timers_.find(tag);
        if (t == timers_.end())
            return;
        message_key const key = t->second;
        timers_.erase(t);
        auto it = missing_.find(key);
        if (it == missing_.end() || it->second.timer_tag != tag)
            return;
        auto& m = it->second;
        m.timer_tag = 0;
        if (m.announcers.empty() || m.grafts >= cfg_.max_graft_attempts) {
            missing_.erase(it); // a later IHAVE starts afresh
            return;
        }
        // Cycle through the announcers: a lost GRAFT or reply is retried,
        // with the next announcer first when there is one.
        announcer const a = m.announcers[m.grafts % m.announcers.size()];
        ++m.grafts;
        request(ctx, a.peer, key, a.round);
        arm_graft(ctx, key, m, cfg_.graft_timeout_2);
    }

    /// Grafts `from` for `key`: it becomes eager, and the request joins the next coalesced GRAFT.
    template <class Ctx>
    void request(Ctx& ctx, peer_info const& from, message_key const& key, std::uint16_t round)
    {
        ++stats_.grafts_sent;
        auto& slot = pending_grafts_[from.id];
        slot.first = from.address;
        slot.second.push_back({key, round});
        arm_flush(ctx);
    }

    /// Swaps a long eager path for a much shorter lazy one (the paper's optimisation).
    template <class Ctx>
    void optimize(Ctx& ctx, peer_info const& announcer_peer, ihave_entry const& e)
    {
        auto it = cache_.find(e.key);
        if (it == cache_.end() || it->second.from.is_zero() || it->second.from == announcer_peer.id)
            return;
        if (e.round + cfg_.optimization_threshold > it->second.round)
            return;
        ++stats_.grafts_sent;
        // No entries: "push to me eagerly", without asking for this message
        // again, which would arrive as a duplicate and prune the new link.
        pending_grafts_[announcer_peer.id].first = announcer_peer.address;
        arm_flush(ctx);
        if (auto const* old = neighbor(it->second.from))
            prune(ctx, *old);
        it->second.from = announcer_peer.id; // one swap per message
    }

    template <class Ctx>
    void evict(Ctx& ctx)
    {
        time_point const now = ctx.now();
        seen_.set_window(id_window());
        seen_.expire(now);
        duration const keep = cache_retention();
        while (!cache_order_.empty()) {
            auto it = cache_.find(cache_order_.front());
            if (it != cache_.end() && now - it->second.at <= keep)
                break;
            drop_oldest_cached(ctx, false);
        }
        std::erase_if(missing_, [&](auto const& kv) {
            bool const old = now - kv.second.first_announced > id_window();
            if (old && kv.second.timer_tag)
                timers_.erase(kv.second.timer_tag);
            return old;
        });
    }

    /// Records `key` as seen, counting what the byte bound forced out.
    template <class Ctx>
    seen_verdict see(Ctx& ctx, message_key const& key)
    {
        seen_verdict const v = seen_.insert(key, ctx.now());
        if (seen_.evicted_early() > stats_.ids_evicted_early) {
            ctx.metrics().increment("meshkit_broadcast_ids_evicted_early_total",
                                    seen_.evicted_early() - stats_.ids_evicted_early);
            stats_.ids_evicted_early = seen_.evicted_early();
        }
        return v;
    }

    plumtree_config cfg_;
    broadcast_stats stats_;
    std::vector<peer_info> eager_;
    std::vector<peer_info> lazy_;
    seen_messages seen_;
    std::map<message_key, cached> cache_;
    std::deque<message_key> cache_order_;
    std::size_t cached_bytes_ = 0;
    std::map<message_key, missing_entry> missing_;
    std::map<std::uint64_t, message_key> timers_;
    std::map<node_id, link_flow> flows_;
    std::vector<queued_ihave> queued_;
    std::map<node_id, std::pair<endpoint, std::vector<graft_entry>>> pending_grafts_;
    std::map<node_id, endpoint> pending_prunes_;
    duration largest_rtt_{};
    time_point last_fresh_{}; ///< when a broadcast last reached us for the first time
    node_id last_first_from_{}; ///< the neighbour it came from
    std::uint64_t next_seq_ = 0;
    /// The highest version seen or stamped: this node's Lamport counter.
    std::uint64_t version_ = 0;
    std::uint64_t next_tag_ = first_graft_tag;
    bool refused_ = false;
    bool credit_held_ = false;
    bool flush_armed_ = false, ack_armed_ = false, flow_armed_ = false;
};

} // namespace meshkit::broadcast

#endif // MESHKIT_BROADCAST_PLUMTREE_HPP

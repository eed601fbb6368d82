// topology/hierarchical_mesh.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_TOPOLOGY_HIERARCHICAL_MESH_HPP
#define MESHKIT_TOPOLOGY_HIERARCHICAL_MESH_HPP

#include <meshkit/broadcast/message_key.hpp>
#include <meshkit/concepts/aggregator.hpp>
#include <meshkit/endpoint.hpp>
#include <meshkit/error.hpp>
#include <meshkit/hierarchy/attachment_option.hpp>
#include <meshkit/hierarchy/election.hpp>
#include <meshkit/hierarchy/node_role.hpp>
#include <meshkit/inbound.hpp>
#include <meshkit/node_id.hpp>
#include <meshkit/peer_events.hpp>
#include <meshkit/result.hpp>
#include <meshkit/time.hpp>
#include <meshkit/topology/beacon.hpp>
#include <meshkit/topology/beacon_observer.hpp>
#include <meshkit/topology/events.hpp>
#include <meshkit/topology/mesh_config.hpp>
#include <meshkit/topology/mesh_stats.hpp>
#include <meshkit/topology/messages.hpp>
#include <meshkit/topology/no_aggregation.hpp>
#include <meshkit/topology/parent_selector.hpp>
#include <meshkit/topology/selective_router.hpp>
#include <meshkit/topology/upward_item.hpp>
#include <meshkit/type_list.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <system_error>
#include <utility>
#include <vector>

namespace meshkit::topology {

/// One link of the hierarchy: a child or a lateral peer.
struct mesh_link {
    node_id id;
    endpoint address;
};

/// The parent as the node sees it.
struct parent_link {
    node_id id;
    endpoint address;
    std::uint8_t level = 0;
    double score = 0;
};

/** Peat's P2P mesh intelligence layer as one sans-IO engine: beacons, parent selection, selective routing,
    aggregation, failover and partitions.

    Each node beacons its position, level, role, mobility and resources
    every `broadcast_interval` to the nodes in range (and to the targets a
    discovery policy gives it: seeds, a LAN group). What it hears fills a
    `beacon_observer`; from it the node:
    - asks its **hierarchy policy** to reconsider role and level
      (`ctx.hierarchy().reassess(level_view)`: elections, promotion,
      demotion; the policy decides, this engine acts and beacons it);
    - **selects a parent** among the higher-level candidates in range
      (`parent_selector`), at once while it has none, and every
      `reevaluation_interval` otherwise, moving only when the cooldown is
      over and the policy's `justifies_move` says the candidate is better
      by its hysteresis;
    - tracks **children** (nodes whose beacons name it) and up to
      `max_lateral` **lateral** peers at its level.
    Packets are routed by direction (`selective_router`): upward to the
    parent, downward to the children, laterally to the peers. Upward
    packets are **held until released**: a parent acknowledges receipt at
    once, and releases a packet only when what carried it further up has
    been released in turn (or consumed at a root), so a parent that dies
    with a child's readings costs nothing: the child gives them to its
    next parent. A node with children folds what comes up through its
    **aggregator** (`Aggregator`, a policy) and sends one summary every
    `aggregation_interval`.

    A parent that stops acknowledging or beaconing is **retried** (probes,
    1 s doubling); after `retries_before_fallback` failed retries the node
    moves to the next-best parent, or, with none, keeps retrying and then
    holds its upward packets. No operational node above in range for
    `partition_attempts` checks (2 s doubling) is a **partition**: the
    cell works on with its own leaders (a dynamic or hybrid policy
    promotes one), holds what must go up, and sends it when a node above
    is back.

    Requires a hierarchy policy with `base_level()`, `promoted()`,
    `reassess(level_view)` and `weights()` besides `hierarchy_strategy`:
    `hierarchy::static_strategy`, `dynamic_strategy` or `hybrid_strategy`.
*/
template <class Aggregator = no_aggregation>
class hierarchical_mesh {
    static_assert(aggregator<Aggregator>,
                  "meshkit: the Aggregator of topology::hierarchical_mesh does not model meshkit::aggregator");

public:
    using messages = topology_messages;
    using events = type_list<parent_selected, parent_changed, parent_lost, child_added, child_removed, lateral_found,
                             lateral_lost, role_changed, level_changed, partition_detected, partition_healed,
                             packet_received, summary_sent, peers_wanted>;
    using config_type = mesh_config;

    hierarchical_mesh() : hierarchical_mesh(mesh_config{}) {}
    /// @throws std::invalid_argument when `cfg` fails `validate()`.
    explicit hierarchical_mesh(mesh_config cfg, Aggregator aggregator = {})
        : cfg_(std::move(cfg)), observer_(cfg_.beacons), selector_(cfg_.selection), router_(cfg_.routing),
          aggregator_(std::move(aggregator))
    {
        cfg_.validate();
        observer_.relocate(cfg_.position);
    }

    // -- hooks -------------------------------------------------------------------

    template <class Ctx>
    void start(Ctx& ctx)
    {
        static_assert(requires { ctx.hierarchy().reassess(std::declval<level_view const&>()); },
                      "meshkit: topology::hierarchical_mesh needs a hierarchy policy with reassess(level_view), "
                      "base_level(), promoted() and weights(): hierarchy::static_strategy, dynamic_strategy or "
                      "hybrid_strategy");
        if (seq_ == 0) {
            seq_ = broadcast::first_sequence(ctx);
            beacon_seq_ = seq_;
        }
        level_ = ctx.hierarchy().level();
        role_ = ctx.hierarchy().role();
        promoted_ = ctx.hierarchy().promoted();
        started_ = ctx.now();
        // Every timer died with a crash; each is re-armed here and only here.
        tick_armed_ = false;
        retry_armed_ = false;
        partition_armed_ = false;
        // The first beacon goes out at a random point of the interval, so nodes started together do not beacon together.
        (void)ctx.set_timer(jittered(ctx, cfg_.beacons.broadcast_interval, 0.0, 1.0), beacon_tag);
        (void)ctx.set_timer(cfg_.beacons.janitor_interval, janitor_tag);
        (void)ctx.set_timer(jittered(ctx, cfg_.reevaluation_interval, 1.0, 1.1), evaluation_tag);
        // Where to beacon: the discovery policy's candidates (seeds, a LAN group) come back through add_candidate.
        ctx.emit(peers_wanted{cfg_.max_beacon_targets});
        (void)ctx.set_timer(jittered(ctx, cfg_.aggregation_interval, 1.0, 1.1), aggregation_tag);
    }

    /// A place to beacon to (a seed, a LAN multicast group): kept, bounded, beaconed to every interval.
    template <class Ctx>
    void add_candidate(Ctx&, endpoint const& address)
    {
        if (address.is_unspecified() || targets_.size() >= cfg_.max_beacon_targets ||
            std::find(targets_.begin(), targets_.end(), address) != targets_.end())
            return;
        targets_.push_back(address);
    }

    template <class Ctx>
    void on_message(Ctx& ctx, inbound const& in, hm_beacon const& received)
    {
        node_id const& from = in.header.sender;
        if (from == ctx.self())
            return; // our own, looped back by a LAN group
        if (!ctx.verify(from, signing_bytes(from, received), received.signature)) {
            ++stats_.beacons_forged;
            return;
        }
        hm_beacon b = received;
        bool clamped = false;
        if (sanitize(b, cfg_.beacons.geohash_precision, &clamped)) {
            ++stats_.beacons_refused;
            return;
        }
        stats_.beacons_clamped += clamped ? 1 : 0;
        ++stats_.beacons_received;
        auto const outcome = observer_.observe(from, in.from, b, ctx.now());
        if (outcome == observe_outcome::full)
            ++stats_.beacons_over_capacity;
        if (outcome == observe_outcome::stale || outcome == observe_outcome::full)
            return;
        // A discovery policy that learns from beacons (capability, geographic, directed) hears them too.
        if constexpr (requires { ctx.discovery().observe_beacon(from, in.from, b, ctx.now()); })
            ctx.discovery().observe_beacon(from, in.from, b, ctx.now());
        heard_from(ctx, from, in.from);
        // Children are the nodes whose beacons name this one.
        bool const names_me = b.parent && *b.parent == ctx.self() && outcome != observe_outcome::out_of_range;
        if (names_me)
            add_child(ctx, from, in.from);
        else
            remove_child(ctx, from);
        if (partitioned_ && b.operational && b.level > level_)
            heal(ctx);
    }

    template <class Ctx>
    void on_message(Ctx& ctx, inbound const& in, hm_probe const& p)
    {
        ctx.send(in.from, hm_probe_reply{p.nonce});
    }

    template <class Ctx>
    void on_message(Ctx& ctx, inbound const& in, hm_probe_reply const& r)
    {
        if (r.nonce != probe_nonce_ || probe_nonce_ == 0)
            return;
        probe_nonce_ = 0;
        heard_from(ctx, in.header.sender, in.from);
    }

    template <class Ctx>
    void on_message(Ctx& ctx, inbound const& in, hm_ack const& a)
    {
        if (a.received.size() > max_acked_keys || a.released.size() > max_acked_keys) {
            ++stats_.acks_refused;
            return;
        }
        heard_from(ctx, in.header.sender, in.from);
        bool const from_parent = parent_ && in.from == parent_->address;
        for (packet_key const& k : a.received) {
            if (from_parent)
                for (held_packet& h : outbox_)
                    if (h.packet.key() == k && h.sent) {
                        h.received = true;
                        h.received_by = in.from;
                    }
            std::erase_if(hop_pending_, [&](hop_send const& s) { return s.to == in.from && s.packet.key() == k; });
        }
        // Only the node that received a packet releases it: a forged release from anyone else changes nothing.
        for (packet_key const& k : a.released) {
            auto it = std::find_if(outbox_.begin(), outbox_.end(), [&](held_packet const& h) {
                return h.packet.key() == k && h.received && h.received_by == in.from;
            });
            if (it == outbox_.end())
                continue;
            ++stats_.upward_released;
            release_children(ctx, it->covers);
            outbox_.erase(it);
        }
    }

    template <class Ctx>
    void on_message(Ctx& ctx, inbound const& in, hm_packet const& p)
    {
        if (p.payload.size() > max_packet_payload || p.hop_limit == 0) {
            ++stats_.packets_refused;
            return;
        }
        heard_from(ctx, in.header.sender, in.from);
        direction const dir = direction_of(p.type);
        if (auto drop = router_.admit(p, ctx.now())) {
            if (*drop == route_drop::hop_limit) {
                ++stats_.packets_over_hop_limit;
                return;
            }
            ++stats_.packets_duplicate;
            // A copy from a hop that did not hear the first answer: answer again.
            if (dir == direction::upward)
                acknowledge_upward_again(ctx, in.from, p.key());
            else
                ctx.send(in.from, hm_ack{{p.key()}, {}});
            return;
        }
        ++stats_.packets_received;
        if (dir != direction::upward) {
            ctx.send(in.from, hm_ack{{p.key()}, {}});
            route_across(ctx, p, in.from);
            return;
        }
        // Upward: the sender is a child (whatever its last beacon said), and this node now holds its packet.
        add_child(ctx, in.header.sender, in.from);
        if (is_root()) {
            ctx.send(in.from, hm_ack{{p.key()}, {p.key()}});
            consume_upward(ctx, p, static_cast<std::uint8_t>(p.hops + 1));
            return;
        }
        ctx.send(in.from, hm_ack{{p.key()}, {}});
        custody c{in.from, p.key()};
        if (aggregator_.fold(upward_item{p.source, p.type, p.readings, p.payload})) {
            window_.push_back(c);
            if (window_.size() >= cfg_.max_children * 4)
                send_summary(ctx); // a flood of readings cannot grow the window: it goes up now
            return;
        }
        hm_packet onward = p;
        ++onward.hops;
        hold(ctx, std::move(onward), {c});
    }

    template <class Ctx, class M>
    void on_message(Ctx&, inbound const&, M const&)
    {
    }

    template <class Ctx>
    void on_timer(Ctx& ctx, std::uint64_t tag)
    {
        switch (tag) {
        case beacon_tag: on_beacon_tick(ctx); break;
        case janitor_tag: on_janitor(ctx); break;
        case evaluation_tag: on_evaluation(ctx); break;
        case aggregation_tag: on_aggregation(ctx); break;
        case tick_tag: on_tick(ctx); break;
        case retry_tag: on_retry(ctx); break;
        case partition_tag: on_partition_check(ctx); break;
        default: break;
        }
    }

    // -- what the application calls ---------------------------------------------------

    /** Sends `payload` up as a packet of `type` (telemetry, status): held until released, never lost silently.

        At a node with children it is folded with theirs when the aggregator
        takes it. At a root it is consumed at once. @return the packet's key
        (what a root's `packet_received` or a `summary_sent` names), or
        `errc::message_too_large` above `max_packet_payload`, `errc::wrong_direction` for a type that does not
        travel upward.
    */
    template <class Ctx>
    result<packet_key> report(Ctx& ctx, data_type type, std::span<std::byte const> payload)
    {
        if (payload.size() > max_packet_payload)
            return make_error_code(errc::message_too_large);
        if (direction_of(type) != direction::upward)
            return make_error_code(errc::wrong_direction);
        hm_packet p{ctx.self(), seq_++, std::nullopt, type, 0, max_hops, 1, {payload.begin(), payload.end()}};
        packet_key const key = p.key();
        ++stats_.readings_reported;
        (void)router_.admit(p, ctx.now()); // a copy that comes back is a duplicate
        if (is_root()) {
            consume_upward(ctx, p, 0);
            return key;
        }
        if (!children_.empty() && aggregator_.fold(upward_item{p.source, p.type, 1, p.payload})) {
            window_.push_back(custody{endpoint{}, key});
            return key;
        }
        hold(ctx, std::move(p), {});
        return key;
    }

    /** Sends a command or configuration down to every node below (`destination`: for one of them only),
        or a coordination message across to the lateral peers.

        @return `errc::message_too_large`, or `errc::wrong_direction` for an upward type.
    */
    template <class Ctx>
    std::error_code send(Ctx& ctx, data_type type, std::optional<node_id> destination,
                         std::span<std::byte const> payload)
    {
        if (payload.size() > max_packet_payload)
            return errc::message_too_large;
        if (direction_of(type) == direction::upward)
            return errc::wrong_direction;
        hm_packet p{ctx.self(), seq_++, destination, type, 0,
                    direction_of(type) == direction::lateral ? max_lateral_hops : max_hops, 1,
                    {payload.begin(), payload.end()}};
        (void)router_.admit(p, ctx.now());
        route_across(ctx, p, endpoint{});
        return {};
    }

    // -- observation ---------------------------------------------------------------------

    [[nodiscard]] std::optional<parent_link> const& parent() const noexcept { return parent_; }
    [[nodiscard]] std::vector<mesh_link> const& children() const noexcept { return children_; }
    [[nodiscard]] std::vector<mesh_link> const& laterals() const noexcept { return laterals_; }
    [[nodiscard]] beacon_observer const& observer() const noexcept { return observer_; }
    [[nodiscard]] mesh_stats const& stats() const noexcept { return stats_; }
    [[nodiscard]] mesh_config const& config() const noexcept { return cfg_; }
    [[nodiscard]] bool partitioned() const noexcept { return partitioned_; }
    /// Upward packets held until released (sent or waiting for a parent).
    [[nodiscard]] std::size_t held() const noexcept { return outbox_.size(); }
    /** Whether this node is a root: natively at the top level, it consumes what comes up.

        A node promoted to the top level (a partition's local leader) is not:
        it holds what comes up until it steps down under a native root.
    */
    [[nodiscard]] bool is_root() const noexcept { return level_ >= cfg_.top_level && !promoted_; }
    [[nodiscard]] std::uint8_t level() const noexcept { return level_; }
    [[nodiscard]] node_role role() const noexcept { return role_; }

    /// Moves the node (a vehicle drove on): its next beacon says so, and distances are measured from here.
    void relocate(geo_position const& p)
    {
        cfg_.position = p;
        observer_.relocate(p);
    }

private:
    static constexpr std::uint64_t beacon_tag = 1;
    static constexpr std::uint64_t janitor_tag = 2;
    static constexpr std::uint64_t evaluation_tag = 3;
    static constexpr std::uint64_t aggregation_tag = 4;
    static constexpr std::uint64_t tick_tag = 5;
    static constexpr std::uint64_t retry_tag = 6;
    static constexpr std::uint64_t partition_tag = 7;

    /// A child packet this node holds: released to `from` when what carried it up is released.
    struct custody {
        endpoint from; // unspecified: the node's own reading
        packet_key key;
    };

    /// An upward packet held until the parent releases it.
    struct held_packet {
        hm_packet packet;
        std::vector<custody> covers;
        bool sent = false;
        bool received = false;
        /// The parent that acknowledged it: it alone releases it (it may no longer be the parent).
        endpoint received_by;
        time_point sent_at{};
    };

    /// A downward or lateral packet awaiting one hop's receipt.
    struct hop_send {
        endpoint to;
        hm_packet packet;
        std::uint32_t attempts = 0;
        time_point sent_at{};
    };

    template <class Ctx>
    static duration jittered(Ctx& ctx, duration d, double lo, double hi)
    {
        double const f = lo + (hi - lo) * ctx.rng().unit();
        return std::chrono::duration_cast<duration>(d * f);
    }

    // -- beacons, roles, parents ------------------------------------------------------------

    template <class Ctx>
    void on_beacon_tick(Ctx& ctx)
    {
        (void)ctx.set_timer(jittered(ctx, cfg_.beacons.broadcast_interval, 0.9, 1.1), beacon_tag);
        if (observer_.size() == 0 && targets_.empty())
            ctx.emit(peers_wanted{cfg_.max_beacon_targets}); // nobody heard and nowhere to beacon: ask again
        reassess(ctx);
        refresh_laterals(ctx);
        check_parent(ctx);
        // The first choice waits until a whole interval of beacons is in: the nearest leader, not the first heard.
        if (!parent_ && !is_root() && ctx.now() - started_ >= cfg_.beacons.broadcast_interval * 11 / 10)
            select_parent(ctx, false);
        check_partition(ctx);
        beacon(ctx);
    }

    template <class Ctx>
    void beacon(Ctx& ctx)
    {
        hm_beacon b;
        b.seq = ++beacon_seq_;
        b.position = cfg_.position;
        b.geohash = meshkit::geohash(cfg_.position, cfg_.beacons.geohash_precision);
        b.level = level_;
        b.base_level = ctx.hierarchy().base_level();
        b.role = static_cast<std::uint8_t>(role_);
        b.capabilities = cfg_.capabilities;
        b.operational = cfg_.operational;
        b.mobility = cfg_.mobility;
        b.can_parent = cfg_.takes_children();
        b.parent_priority = cfg_.parent_priority;
        b.resources = cfg_.resources;
        if (parent_)
            b.parent = parent_->id;
        b.signature = ctx.sign(signing_bytes(ctx.self(), b));
        ++stats_.beacons_sent;
        // To every node in range it has heard, and to its seeds: the same beacon, one datagram each.
        if (!cfg_.beacon_to_heard) {
            for (endpoint const& t : targets_)
                ctx.send(t, b);
            return;
        }
        for (observed_node const& n : observer_.nodes())
            ctx.send(n.address, b);
        for (endpoint const& t : targets_)
            if (!heard_at(t))
                ctx.send(t, b);
    }

    bool heard_at(endpoint const& a) const noexcept
    {
        auto nodes = observer_.nodes();
        return std::any_of(nodes.begin(), nodes.end(), [&](observed_node const& n) { return n.address == a; });
    }

    /// The hierarchy policy reconsiders role and level with what the beacons say; this engine reports changes.
    template <class Ctx>
    void reassess(Ctx& ctx)
    {
        auto& h = ctx.hierarchy();
        std::uint8_t const base = h.base_level();
        peers_.clear();
        std::size_t higher = 0, higher_native = 0;
        for (observed_node const& n : observer_.nodes()) {
            if (!n.beacon.operational)
                continue;
            if (n.beacon.base_level == base)
                peers_.push_back(level_peer{n.id, n.beacon.election(), n.beacon.claimed_role()});
            if (n.beacon.level > level_)
                ++higher;
            if (n.beacon.level > base && !n.beacon.is_promoted())
                ++higher_native;
        }
        level_view v{ctx.self(), election_input{cfg_.mobility, cfg_.resources}, cfg_.takes_children(), peers_,
                     higher, higher_native};
        (void)h.reassess(v);
        node_role const role = h.role();
        std::uint8_t const level = h.level();
        promoted_ = h.promoted();
        if (role != role_) {
            ctx.emit(role_changed{role_, role});
            role_ = role;
        }
        if (level != level_) {
            ctx.emit(level_changed{level_, level, h.promoted()});
            ++stats_.level_changes;
            level_ = level;
            if (is_root() && parent_) {
                drop_parent(ctx, parent_loss::ineligible); // a root has no parent; what it held, it consumes
            }
            if (is_root())
                consume_held(ctx);
            if (partitioned_ && (is_root() || has_node_above()))
                heal(ctx);
        }
    }

    template <class Ctx>
    void refresh_laterals(Ctx& ctx)
    {
        std::vector<observed_node const*> same;
        for (observed_node const& n : observer_.nodes())
            if (n.beacon.operational && n.beacon.level == level_)
                same.push_back(&n);
        std::sort(same.begin(), same.end(), [](auto const* a, auto const* b) {
            return std::tie(a->distance_m, a->id) < std::tie(b->distance_m, b->id);
        });
        if (same.size() > cfg_.max_lateral)
            same.resize(cfg_.max_lateral);
        std::vector<mesh_link> next;
        for (auto const* n : same)
            next.push_back(mesh_link{n->id, n->address});
        std::sort(next.begin(), next.end(), [](auto const& a, auto const& b) { return a.id < b.id; });
        for (auto const& old : laterals_)
            if (!contains(next, old.id))
                ctx.emit(lateral_lost{old.id});
        for (auto const& now : next)
            if (!contains(laterals_, now.id))
                ctx.emit(lateral_found{now.id});
        laterals_ = std::move(next);
    }

    /// The parent is still one: above this node, operational, heard within the timeout.
    template <class Ctx>
    void check_parent(Ctx& ctx)
    {
        if (!parent_)
            return;
        if (ctx.now() - parent_heard_ > cfg_.parent_timeout) {
            drop_parent(ctx, parent_loss::timed_out);
            return;
        }
        if (auto const* n = observer_.find(parent_->id)) {
            if (!n->beacon.operational || n->beacon.level <= level_ || !n->beacon.can_parent) {
                ++stats_.parents_ineligible;
                replace_parent(ctx, parent_loss::ineligible);
                return;
            }
            parent_->level = n->beacon.level;
            parent_->score = selector_.score(*n);
        }
        // Beacons are the parent's heartbeat: one and a half intervals of silence make it suspect.
        if (ctx.now() - parent_heard_ > cfg_.beacons.broadcast_interval * 3 / 2)
            suspect_parent(ctx);
    }

    /// Chooses a parent: at once (none yet), or by the policy's hysteresis after the cooldown (`by_score`).
    template <class Ctx>
    void select_parent(Ctx& ctx, bool by_score)
    {
        if (is_root())
            return;
        auto ranked = selector_.rank(observer_.nodes(), level_, excluded_);
        if (ranked.empty())
            return;
        auto const& best = ranked.front();
        attachment_option const candidate{best.node->id, {}, best.node->beacon.level, false, best.score};
        auto& h = ctx.hierarchy();
        if (!parent_) {
            if (!h.justifies_move(std::nullopt, candidate))
                return;
            set_parent(ctx, *best.node, best.score, false);
            return;
        }
        if (!by_score || best.node->id == parent_->id)
            return;
        if (ctx.now() - last_parent_change_ < cfg_.parent_change_cooldown)
            return;
        // A nearer level beats any score: the hierarchy keeps its shape.
        bool const nearer_level = best.node->beacon.level < parent_->level;
        attachment_option const current{parent_->id, {}, parent_->level, false, parent_->score};
        if (nearer_level)
            set_parent(ctx, *best.node, best.score, false);
        else if (h.justifies_move(current, candidate))
            set_parent(ctx, *best.node, best.score, false, true);
    }

    template <class Ctx>
    void set_parent(Ctx& ctx, observed_node const& n, double score, bool failover, bool by_choice = false)
    {
        std::optional<node_id> const old = parent_ ? std::optional<node_id>(parent_->id) : std::nullopt;
        if (old) {
            // Two moves by score in a row, the second back to where the first left, within two evaluations:
            // a flap, what hysteresis exists to prevent. A move forced by a failure, or by a parent that
            // changed level or stopped qualifying, is no choice and no flap.
            if (previous_parent_ && *previous_parent_ == n.id && by_choice && last_move_by_choice_ &&
                ctx.now() - last_parent_change_ <= 2 * cfg_.reevaluation_interval)
                ++stats_.flaps;
            previous_parent_ = old;
            ctx.emit(parent_changed{*old, n.id, score, failover});
            ++stats_.parent_changes;
        } else {
            ctx.emit(parent_selected{n.id, score});
            ++stats_.parents_selected;
        }
        parent_ = parent_link{n.id, n.address, n.beacon.level, score};
        last_move_by_choice_ = by_choice;
        parent_heard_ = ctx.now();
        last_parent_change_ = ctx.now();
        suspect_ = false;
        retries_ = 0;
        probe_nonce_ = 0;
        ctx.hierarchy().attach(n.id);
        // After a failure everything held goes to the new parent: the old one may be gone with what it had.
        // After a move by choice the old parent still releases what it received; the rest goes to the new one.
        for (held_packet& h : outbox_) {
            if (failover || !h.received) {
                h.sent = false;
                h.received = false;
            }
        }
        flush(ctx);
    }

    template <class Ctx>
    void drop_parent(Ctx& ctx, parent_loss why)
    {
        if (!parent_)
            return;
        ctx.emit(parent_lost{parent_->id, why});
        ++stats_.parents_lost;
        if (why != parent_loss::ineligible)
            for (held_packet& h : outbox_)
                if (h.received_by == parent_->address) {
                    h.sent = false; // it died with them: they go to the next parent
                    h.received = false;
                }
        previous_parent_ = parent_->id;
        parent_.reset();
        suspect_ = false;
        retries_ = 0;
        probe_nonce_ = 0;
        ctx.hierarchy().detach();
    }

    /// The parent failed or stopped qualifying: the next-best at once if there is one, else none.
    template <class Ctx>
    void replace_parent(Ctx& ctx, parent_loss why)
    {
        if (!parent_)
            return;
        node_id const failed = parent_->id;
        excluded_.push_back(failed); // until it beacons again
        auto ranked = selector_.rank(observer_.nodes(), level_, excluded_);
        if (ranked.empty()) {
            drop_parent(ctx, why);
            return;
        }
        bool const is_failure = why != parent_loss::ineligible;
        stats_.failovers += is_failure ? 1 : 0;
        set_parent(ctx, *ranked.front().node, ranked.front().score, is_failure);
    }

    // -- failover -----------------------------------------------------------------------------

    template <class Ctx>
    void heard_from(Ctx& ctx, node_id const& id, endpoint const& from)
    {
        if (!excluded_.empty())
            std::erase(excluded_, id);
        if (parent_ && (parent_->id == id || parent_->address == from)) {
            parent_heard_ = ctx.now();
            if (suspect_) {
                suspect_ = false;
                retries_ = 0;
                ++stats_.parent_recovered;
            }
        }
    }

    template <class Ctx>
    void suspect_parent(Ctx& ctx)
    {
        if (suspect_ || !parent_)
            return;
        suspect_ = true;
        retries_ = 0;
        ++stats_.parent_suspected;
        probe_parent(ctx);
    }

    template <class Ctx>
    void probe_parent(Ctx& ctx)
    {
        probe_nonce_ = ctx.rng()() | 1;
        ctx.send(parent_->address, hm_probe{probe_nonce_});
        duration wait = cfg_.retry_initial;
        for (std::uint32_t i = 0; i < retries_ && wait < cfg_.retry_max; ++i)
            wait = std::min(wait * 2, cfg_.retry_max);
        if (!retry_armed_) {
            retry_armed_ = true;
            (void)ctx.set_timer(wait, retry_tag);
        }
    }

    template <class Ctx>
    void on_retry(Ctx& ctx)
    {
        retry_armed_ = false;
        if (!parent_ || !suspect_)
            return;
        ++retries_;
        ++stats_.parent_retries;
        if (retries_ >= cfg_.retries_before_fallback) {
            auto ranked = selector_.rank(observer_.nodes(), level_, std::span<node_id const>(&parent_->id, 1));
            if (!ranked.empty()) {
                replace_parent(ctx, parent_loss::retries_exhausted);
                return;
            }
        }
        if (retries_ >= cfg_.max_retries) {
            excluded_.push_back(parent_->id);
            drop_parent(ctx, parent_loss::retries_exhausted);
            return;
        }
        probe_parent(ctx);
    }

    // -- upward: held until released -------------------------------------------------------------

    template <class Ctx>
    void hold(Ctx& ctx, hm_packet p, std::vector<custody> covers)
    {
        if (outbox_.size() >= cfg_.max_telemetry_buffer) {
            ++stats_.upward_dropped;
            stats_.readings_dropped += outbox_.front().packet.readings;
            outbox_.pop_front();
        }
        held_packet h;
        h.packet = std::move(p);
        h.covers = std::move(covers);
        outbox_.push_back(std::move(h));
        if (parent_)
            send_held(ctx, outbox_.back());
        else
            ++stats_.upward_buffered;
    }

    template <class Ctx>
    void send_held(Ctx& ctx, held_packet& h)
    {
        h.sent = true;
        h.received = false;
        h.sent_at = ctx.now();
        ++stats_.upward_sent;
        stats_.upward_bytes += encoded_size(h.packet);
        ctx.send(parent_->address, h.packet);
        arm_tick(ctx);
    }

    /// Sends what is held and not yet with the parent.
    template <class Ctx>
    void flush(Ctx& ctx)
    {
        if (!parent_)
            return;
        for (held_packet& h : outbox_)
            if (!h.sent)
                send_held(ctx, h);
    }

    /// Became a root while holding packets: consume them (the top of the hierarchy is here now).
    template <class Ctx>
    void consume_held(Ctx& ctx)
    {
        while (!outbox_.empty()) {
            held_packet h = std::move(outbox_.front());
            outbox_.pop_front();
            consume_upward(ctx, h.packet, h.packet.hops);
            release_children(ctx, h.covers);
        }
    }

    /// At a root: what came up ends here, counted and handed to the application.
    template <class Ctx>
    void consume_upward(Ctx& ctx, hm_packet const& p, std::uint8_t hops)
    {
        ++stats_.upward_consumed;
        stats_.readings_consumed += p.readings;
        ctx.emit(packet_received{p.source, p.key(), p.type, p.readings, hops, p.payload});
    }

    template <class Ctx>
    void release_children(Ctx& ctx, std::vector<custody> const& covers)
    {
        // One acknowledgement per child, in batches.
        std::vector<custody> left;
        for (custody const& c : covers)
            if (!c.from.is_unspecified())
                left.push_back(c);
        std::sort(left.begin(), left.end(), [](custody const& a, custody const& b) { return a.from < b.from; });
        for (std::size_t i = 0; i < left.size();) {
            hm_ack a;
            endpoint const to = left[i].from;
            while (i < left.size() && left[i].from == to && a.released.size() < max_acked_keys)
                a.released.push_back(left[i++].key);
            ctx.send(to, a);
        }
    }

    /// A child sent again what this node has: received, and released too unless still held here.
    template <class Ctx>
    void acknowledge_upward_again(Ctx& ctx, endpoint const& to, packet_key const& k)
    {
        bool still_held = std::any_of(window_.begin(), window_.end(), [&](custody const& c) { return c.key == k; });
        for (held_packet const& h : outbox_)
            for (custody const& c : h.covers)
                still_held = still_held || c.key == k;
        if (still_held)
            ctx.send(to, hm_ack{{k}, {}});
        else
            ctx.send(to, hm_ack{{k}, {k}});
    }

    template <class Ctx>
    void on_aggregation(Ctx& ctx)
    {
        (void)ctx.set_timer(cfg_.aggregation_interval, aggregation_tag);
        send_summary(ctx);
    }

    /// Sends up what the aggregator folded, as one summary (nothing when it folded nothing).
    template <class Ctx>
    void send_summary(Ctx& ctx)
    {
        if (aggregator_.pending() == 0)
            return;
        aggregate_summary s = aggregator_.take_summary();
        hm_packet p{ctx.self(), seq_++, std::nullopt, data_type::aggregated_telemetry, 0, max_hops, s.readings,
                    std::move(s.payload)};
        (void)router_.admit(p, ctx.now());
        ++stats_.summaries_sent;
        std::vector<custody> covers = std::move(window_);
        window_.clear();
        summary_sent note{p.key(), {}};
        note.folded.reserve(covers.size());
        for (custody const& c : covers)
            note.folded.push_back(c.key);
        ctx.emit(std::move(note));
        if (is_root()) {
            consume_upward(ctx, p, 0);
            release_children(ctx, covers);
            return;
        }
        hold(ctx, std::move(p), std::move(covers));
    }

    template <class Ctx>
    void arm_tick(Ctx& ctx)
    {
        if (tick_armed_)
            return;
        tick_armed_ = true;
        (void)ctx.set_timer(cfg_.ack_timeout, tick_tag);
    }

    /// Acknowledgements overdue: the parent is suspect; hops not answering get their packet again.
    template <class Ctx>
    void on_tick(Ctx& ctx)
    {
        tick_armed_ = false;
        time_point const now = ctx.now();
        bool outstanding = false;
        for (held_packet& h : outbox_) {
            if (!h.sent || !parent_)
                continue;
            if (!h.received) {
                outstanding = true;
                if (now - h.sent_at >= cfg_.ack_timeout)
                    suspect_parent(ctx);
            } else if (now - h.sent_at >= cfg_.release_timeout) {
                send_held(ctx, h); // received long ago and never released: its holder restarted or left
            } else {
                outstanding = true;
            }
        }
        for (auto it = hop_pending_.begin(); it != hop_pending_.end();) {
            if (now - it->sent_at < cfg_.ack_timeout) {
                outstanding = true;
                ++it;
                continue;
            }
            if (++it->attempts > 3) {
                ++stats_.hop_sends_failed;
                it = hop_pending_.erase(it);
                continue;
            }
            it->sent_at = now;
            ctx.send(it->to, it->packet);
            outstanding = true;
            ++it;
        }
        if (outstanding)
            arm_tick(ctx);
    }

    // -- downward and lateral ---------------------------------------------------------------------

    template <class Ctx>
    void route_across(Ctx& ctx, hm_packet const& p, endpoint const& came_from)
    {
        routing_decision const d = selective_router::decide(p, ctx.self(), role_);
        if (d.consume && p.source != ctx.self()) {
            ++stats_.packets_consumed;
            ctx.emit(packet_received{p.source, p.key(), p.type, p.readings, static_cast<std::uint8_t>(p.hops + 1),
                                     p.payload});
        }
        hm_packet onward = p;
        if (p.source != ctx.self() || !came_from.is_unspecified())
            ++onward.hops;
        auto const& next = d.to_children ? children_ : laterals_;
        if (!d.to_children && !d.to_laterals)
            return;
        for (mesh_link const& l : next) {
            if (l.address == came_from)
                continue;
            ++stats_.packets_forwarded;
            ctx.send(l.address, onward);
            if (hop_pending_.size() < cfg_.max_hop_pending) {
                hop_pending_.push_back(hop_send{l.address, onward, 0, ctx.now()});
                arm_tick(ctx);
            }
        }
    }

    // -- children ---------------------------------------------------------------------------

    template <class Ctx>
    void add_child(Ctx& ctx, node_id const& id, endpoint const& address)
    {
        auto it = std::lower_bound(children_.begin(), children_.end(), id,
                                   [](mesh_link const& l, node_id const& k) { return l.id < k; });
        if (it != children_.end() && it->id == id) {
            it->address = address;
            return;
        }
        if (children_.size() >= cfg_.max_children)
            return;
        children_.insert(it, mesh_link{id, address});
        ctx.emit(child_added{id});
    }

    template <class Ctx>
    void remove_child(Ctx& ctx, node_id const& id)
    {
        auto it = std::lower_bound(children_.begin(), children_.end(), id,
                                   [](mesh_link const& l, node_id const& k) { return l.id < k; });
        if (it == children_.end() || it->id != id)
            return;
        children_.erase(it);
        ctx.emit(child_removed{id});
    }

    template <class Ctx>
    void on_janitor(Ctx& ctx)
    {
        (void)ctx.set_timer(cfg_.beacons.janitor_interval, janitor_tag);
        for (node_id const& gone : observer_.expire(ctx.now())) {
            remove_child(ctx, gone);
            std::erase(excluded_, gone);
        }
    }

    template <class Ctx>
    void on_evaluation(Ctx& ctx)
    {
        (void)ctx.set_timer(cfg_.reevaluation_interval, evaluation_tag);
        if (parent_ && !suspect_)
            select_parent(ctx, true);
    }

    // -- partitions -------------------------------------------------------------------------

    bool has_node_above() const noexcept
    {
        auto nodes = observer_.nodes();
        return std::any_of(nodes.begin(), nodes.end(),
                           [&](observed_node const& n) { return n.beacon.operational && n.beacon.level > level_; });
    }

    template <class Ctx>
    void check_partition(Ctx& ctx)
    {
        if (partitioned_ || is_root()) {
            partition_checks_ = 0;
            return;
        }
        if (has_node_above() || parent_) {
            partition_checks_ = 0;
            return;
        }
        if (partition_checks_ == 0 && !partition_armed_) {
            partition_checks_ = 1;
            partition_armed_ = true;
            (void)ctx.set_timer(cfg_.partition_backoff_initial, partition_tag);
        }
    }

    template <class Ctx>
    void on_partition_check(Ctx& ctx)
    {
        partition_armed_ = false;
        if (partitioned_ || is_root() || has_node_above() || parent_) {
            partition_checks_ = 0;
            return;
        }
        if (++partition_checks_ >= cfg_.partition_attempts) {
            partitioned_ = true;
            partitioned_at_ = ctx.now();
            ++stats_.partitions;
            ctx.emit(partition_detected{outbox_.size()});
            return;
        }
        duration wait = cfg_.partition_backoff_initial;
        for (std::uint32_t i = 1; i < partition_checks_; ++i)
            wait = std::min(wait * 2, cfg_.partition_backoff_max);
        partition_armed_ = true;
        (void)ctx.set_timer(wait, partition_tag);
    }

    template <class Ctx>
    void heal(Ctx& ctx)
    {
        if (!partitioned_)
            return;
        partitioned_ = false;
        partition_checks_ = 0;
        ctx.emit(partition_healed{ctx.now() - partitioned_at_});
        if (!parent_ && !is_root())
            select_parent(ctx, false);
        flush(ctx);
    }

    static bool contains(std::vector<mesh_link> const& v, node_id const& id) noexcept
    {
        return std::any_of(v.begin(), v.end(), [&](mesh_link const& l) { return l.id == id; });
    }

    mesh_config cfg_;
    beacon_observer observer_;
    parent_selector selector_;
    selective_router router_;
    Aggregator aggregator_;
    mesh_stats stats_;

    std::uint64_t seq_ = 0;
    std::uint64_t beacon_seq_ = 0;
    std::uint8_t level_ = 0;
    bool promoted_ = false;
    node_role role_ = node_role::standalone;
    std::vector<endpoint> targets_;
    std::vector<level_peer> peers_; // scratch for reassess

    std::optional<parent_link> parent_;
    std::optional<node_id> previous_parent_;
    bool last_move_by_choice_ = false;
    time_point parent_heard_{};
    time_point last_parent_change_{};
    time_point started_{};
    bool suspect_ = false;
    std::uint32_t retries_ = 0;
    std::uint64_t probe_nonce_ = 0;
    bool retry_armed_ = false;
    std::vector<node_id> excluded_; // failed parents, until they beacon again

    std::vector<mesh_link> children_; // by id
    std::vector<mesh_link> laterals_; // by id

    std::deque<held_packet> outbox_;
    std::vector<custody> window_; // folded into the aggregator since the last summary
    std::vector<hop_send> hop_pending_;
    bool tick_armed_ = false;

    bool partitioned_ = false;
    time_point partitioned_at_{};
    std::uint32_t partition_checks_ = 0;
    bool partition_armed_ = false;
};

} // namespace meshkit::topology

#endif // MESHKIT_TOPOLOGY_HIERARCHICAL_MESH_HPP

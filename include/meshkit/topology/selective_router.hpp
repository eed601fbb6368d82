// topology/selective_router.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_TOPOLOGY_SELECTIVE_ROUTER_HPP
#define MESHKIT_TOPOLOGY_SELECTIVE_ROUTER_HPP

#include <meshkit/broadcast/seen_messages.hpp>
#include <meshkit/hierarchy/node_role.hpp>
#include <meshkit/node_id.hpp>
#include <meshkit/time.hpp>
#include <meshkit/topology/messages.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace meshkit::topology {

/// Where a packet goes from this node, and whether this node takes it.
struct routing_decision {
    /// Hand it to the application (and, upward, to the aggregator).
    bool consume = false;
    bool to_parent = false;
    bool to_children = false;
    bool to_laterals = false;
};

/// Why the router dropped a packet.
enum class route_drop : std::uint8_t {
    /** Seen already (a copy, a loop, a replay within the dedup window). */
    duplicate = 1,
    /** Past its hop limit (10; lateral 3). */
    hop_limit,
    /** Too old for the dedup window's memory to judge: refused rather than risk a second delivery. */
    too_old,
};

/// The settings of `selective_router`: its dedup memory (Peat: 300 s, 10,000 entries).
struct router_config {
    duration dedup_window = std::chrono::seconds(300);
    std::size_t dedup_entries = 10'000;
};

/** Peat's SelectiveRouter: per-direction rules, dedup by packet, hop limits. Decides; never sends.

    - **Upward** (telemetry, status, summaries): every node consumes (a
      leader aggregates) and forwards to its parent.
    - **Downward** (commands, configuration): consumed when addressed to
      this node, addressed to no one (for the whole subtree), or when this
      node leads; forwarded to every child unless addressed to this node.
    - **Lateral** (coordination): consumed when addressed to this node, or
      addressed to no one and this node leads; forwarded to lateral peers
      unless addressed to this node.

    The next hops are sets the node keeps in id order, so the same state
    always sends to the same nodes in the same order (Peat's `next_hop`
    took the "first" entry of a hash map). A packet past its hop limit or
    seen before is dropped, so a forged packet cannot loop.
*/
class selective_router {
public:
    explicit selective_router(router_config const& cfg = {})
        : seen_(cfg.dedup_entries * broadcast::seen_messages::bytes_per_run, cfg.dedup_window)
    {
    }

    /// Whether `p` was seen before (and records it if not), without deciding anything else.
    [[nodiscard]] std::optional<route_drop> admit(hm_packet const& p, time_point now)
    {
        std::uint8_t const limit =
            std::min(p.hop_limit, direction_of(p.type) == direction::lateral ? max_lateral_hops : max_hops);
        if (p.hops > limit)
            return route_drop::hop_limit;
        switch (seen_.insert(p.key(), now)) {
        case broadcast::seen_verdict::fresh: return std::nullopt;
        case broadcast::seen_verdict::duplicate: return route_drop::duplicate;
        default: return route_drop::too_old;
        }
    }

    /// Whether a copy of `p` forwarded from here would still be within its hop limit.
    [[nodiscard]] static bool may_forward(hm_packet const& p) noexcept
    {
        std::uint8_t const limit =
            std::min(p.hop_limit, direction_of(p.type) == direction::lateral ? max_lateral_hops : max_hops);
        return p.hops < limit;
    }

    /// The rules, for a packet `admit` let through, at a node `self` with role `role`.
    [[nodiscard]] static routing_decision decide(hm_packet const& p, node_id const& self, node_role role) noexcept
    {
        routing_decision d;
        bool const for_me = p.destination && *p.destination == self;
        bool const leads = role == node_role::leader;
        bool const onward = may_forward(p) && !for_me;
        switch (direction_of(p.type)) {
        case direction::upward:
            d.consume = true;
            d.to_parent = may_forward(p);
            break;
        case direction::downward:
            d.consume = for_me || !p.destination || leads;
            d.to_children = onward;
            break;
        case direction::lateral:
            d.consume = for_me || (!p.destination && leads);
            d.to_laterals = onward;
            break;
        }
        return d;
    }

private:
    broadcast::seen_messages seen_;
};

} // namespace meshkit::topology

#endif // MESHKIT_TOPOLOGY_SELECTIVE_ROUTER_HPP

// topology/events.hpp
// ~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_TOPOLOGY_EVENTS_HPP
#define MESHKIT_TOPOLOGY_EVENTS_HPP

#include <meshkit/endpoint.hpp>
#include <meshkit/hierarchy/node_role.hpp>
#include <meshkit/node_id.hpp>
#include <meshkit/time.hpp>
#include <meshkit/topology/messages.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

// What `topology::hierarchical_mesh` tells the application: Peat's topology
// events, its partition events, and the packets the node consumed.

namespace meshkit::topology {

/// A first parent (or a new one after being without).
struct parent_selected {
    node_id parent;
    double score = 0;
};

/// A move from one parent to another: a better one, or the next-best after a failure (`failover`).
struct parent_changed {
    node_id from;
    node_id to;
    double score = 0;
    bool failover = false;
};

/// Why a parent was lost.
enum class parent_loss : std::uint8_t {
    /** It did not answer `max_retries` retries, and no other parent was in reach. */
    retries_exhausted = 1,
    /** Not heard from for `parent_timeout`. */
    timed_out,
    /** It stopped being a possible parent: its level fell to this node's, or it is no longer operational. */
    ineligible,
};

/// The node has no parent now (and, below the top level, holds what goes up until it has one).
struct parent_lost {
    node_id parent;
    parent_loss reason = parent_loss::retries_exhausted;
};

struct child_added {
    node_id child;
};
struct child_removed {
    node_id child;
};
struct lateral_found {
    node_id peer;
};
struct lateral_lost {
    node_id peer;
};

struct role_changed {
    node_role from = node_role::standalone;
    node_role to = node_role::standalone;
};

struct level_changed {
    std::uint8_t from = 0;
    std::uint8_t to = 0;
    /// Whether the new level is a promotion above the node's base level.
    bool promoted = false;
};

/// No operational node above this one's level has been in range for `partition_attempts` checks.
struct partition_detected {
    /// Upward packets held when it was declared.
    std::size_t held = 0;
};

/// A node above is in range again; what was held goes up.
struct partition_healed {
    duration lasted{};
};

/** A packet this node consumed: a command or coordination for it, or, at a root, what came up.

    At a root, upward packets arrive as they were sent or folded into
    summaries (`readings` counts what a packet stands for).
*/
struct packet_received {
    node_id source;
    packet_key key;
    data_type type = data_type::telemetry;
    std::uint32_t readings = 1;
    std::uint8_t hops = 0;
    std::vector<std::byte> payload;
};

/** A summary this node made and sent up, and the packets folded into it.

    For accounting: with it, a test or a scenario follows every reading
    into the summaries that carried it to a root.
*/
struct summary_sent {
    packet_key summary;
    std::vector<packet_key> folded;
};

} // namespace meshkit::topology

#endif // MESHKIT_TOPOLOGY_EVENTS_HPP

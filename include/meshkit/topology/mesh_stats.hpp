// topology/mesh_stats.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_TOPOLOGY_MESH_STATS_HPP
#define MESHKIT_TOPOLOGY_MESH_STATS_HPP

#include <cstdint>

namespace meshkit::topology {

/// What `topology::hierarchical_mesh` counted.
struct mesh_stats {
    // beacons
    std::uint64_t beacons_sent = 0;
    std::uint64_t beacons_received = 0;
    /// Refused: an implausible position, level, role or capability list.
    std::uint64_t beacons_refused = 0;
    /// Beacons whose signature did not verify against their sender (secure nodes): dropped.
    std::uint64_t beacons_forged = 0;
    /// Accepted with a percentage brought into [0, 100].
    std::uint64_t beacons_clamped = 0;
    /// From a new node while the observer was full of nearer ones.
    std::uint64_t beacons_over_capacity = 0;

    // the topology
    std::uint64_t parents_selected = 0;
    std::uint64_t parent_changes = 0;
    std::uint64_t parents_lost = 0;
    std::uint64_t parents_ineligible = 0;
    std::uint64_t parent_suspected = 0;
    std::uint64_t parent_retries = 0;
    /// A suspect parent answered after all.
    std::uint64_t parent_recovered = 0;
    /// Moves to the next-best parent after a failure.
    std::uint64_t failovers = 0;
    /// Moves by score back to the parent left within two evaluations: what hysteresis exists to prevent.
    std::uint64_t flaps = 0;
    std::uint64_t level_changes = 0;
    std::uint64_t partitions = 0;

    // upward
    /// Readings the application reported here, and readings consumed here (at a root).
    std::uint64_t readings_reported = 0;
    std::uint64_t readings_consumed = 0;
    /// Upward packets sent to a parent (resends included), and their bytes on the wire (envelope included).
    std::uint64_t upward_sent = 0;
    std::uint64_t upward_bytes = 0;
    std::uint64_t upward_released = 0;
    std::uint64_t upward_consumed = 0;
    /// Upward packets held with no parent to send them to.
    std::uint64_t upward_buffered = 0;
    /// Dropped from a full buffer (the oldest first), and the readings they stood for: never silently.
    std::uint64_t upward_dropped = 0;
    std::uint64_t readings_dropped = 0;
    std::uint64_t summaries_sent = 0;

    // routing
    std::uint64_t packets_received = 0;
    std::uint64_t packets_consumed = 0;
    std::uint64_t packets_forwarded = 0;
    std::uint64_t packets_duplicate = 0;
    std::uint64_t packets_over_hop_limit = 0;
    /// Malformed: a payload over the limit or a hop limit of 0.
    std::uint64_t packets_refused = 0;
    std::uint64_t acks_refused = 0;
    /// Downward or lateral packets a hop never acknowledged after 3 resends.
    std::uint64_t hop_sends_failed = 0;
};

} // namespace meshkit::topology

#endif // MESHKIT_TOPOLOGY_MESH_STATS_HPP

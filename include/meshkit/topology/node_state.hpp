// topology/node_state.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_TOPOLOGY_NODE_STATE_HPP
#define MESHKIT_TOPOLOGY_NODE_STATE_HPP

#include <meshkit/hierarchy/geo_position.hpp>

#include <cstdint>
#include <optional>

namespace meshkit::topology {

/** One node's telemetry reading, as the reference hierarchical node reports it upward.

    Peat's NodeState, reduced to what a summary can fold: where the node
    is, its power, whether it works, and a count of what it tracks (the
    objects a sensor sees, the messages a radio relays). An application
    with other telemetry writes its own reading and aggregator.
*/
struct node_state {
    geo_position position;
    /// Percent; no value: on mains power.
    std::optional<std::uint8_t> battery_pct;
    bool operational = true;
    std::uint32_t tracks = 0;
};

} // namespace meshkit::topology

#endif // MESHKIT_TOPOLOGY_NODE_STATE_HPP

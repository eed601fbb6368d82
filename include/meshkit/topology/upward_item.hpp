// topology/upward_item.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_TOPOLOGY_UPWARD_ITEM_HPP
#define MESHKIT_TOPOLOGY_UPWARD_ITEM_HPP

#include <meshkit/node_id.hpp>
#include <meshkit/topology/messages.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace meshkit::topology {

/// One upward packet as an aggregator sees it: a reading of the node itself or of a descendant, or a summary.
struct upward_item {
    node_id source;
    data_type type = data_type::telemetry;
    /// Readings it stands for: 1, or a summary's count.
    std::uint32_t readings = 1;
    std::span<std::byte const> payload;
};

/// What an aggregator hands the node to send up in one packet (`data_type::aggregated_telemetry`).
struct aggregate_summary {
    std::vector<std::byte> payload;
    /// The readings folded into it.
    std::uint32_t readings = 0;
};

} // namespace meshkit::topology

#endif // MESHKIT_TOPOLOGY_UPWARD_ITEM_HPP

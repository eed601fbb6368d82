// topology/no_aggregation.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_TOPOLOGY_NO_AGGREGATION_HPP
#define MESHKIT_TOPOLOGY_NO_AGGREGATION_HPP

#include <meshkit/concepts/aggregator.hpp>
#include <meshkit/topology/upward_item.hpp>

#include <cstddef>

namespace meshkit::topology {

/** Folds nothing: every reading travels to the root on its own (Peat's NoOpAggregator).

    Models `meshkit::aggregator`. The baseline aggregation is measured
    against, and the right choice when the root needs every reading.
*/
struct no_aggregation {
    [[nodiscard]] bool fold(upward_item const&) noexcept { return false; }
    [[nodiscard]] std::size_t pending() const noexcept { return 0; }
    [[nodiscard]] aggregate_summary take_summary() { return {}; }
};

static_assert(aggregator<no_aggregation>);

} // namespace meshkit::topology

#endif // MESHKIT_TOPOLOGY_NO_AGGREGATION_HPP

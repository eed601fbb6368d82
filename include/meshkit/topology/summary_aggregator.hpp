// topology/summary_aggregator.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_TOPOLOGY_SUMMARY_AGGREGATOR_HPP
#define MESHKIT_TOPOLOGY_SUMMARY_AGGREGATOR_HPP

#include <meshkit/concepts/aggregator.hpp>
#include <meshkit/topology/cell_summary.hpp>
#include <meshkit/topology/node_state.hpp>
#include <meshkit/topology/upward_item.hpp>
#include <meshkit/wire/codec.hpp>

#include <cstddef>
#include <cstdint>

namespace meshkit::topology {

/** Folds `node_state` readings and `cell_summary` summaries into one `cell_summary` per interval.

    Models `meshkit::aggregator`. What a leader sends up stays one small
    packet however many nodes its cell holds. An item whose payload is
    not a reading or summary it can decode (a status message, another
    application's telemetry, a malformed payload) is left alone and
    forwarded up as it is: nothing is dropped for being unexpected.
*/
class summary_aggregator {
public:
    [[nodiscard]] bool fold(upward_item const& item)
    {
        if (item.type == data_type::telemetry) {
            auto s = wire::decode<node_state>(item.payload);
            if (!s)
                return false;
            summary_.add(*s);
        } else if (item.type == data_type::aggregated_telemetry) {
            auto s = wire::decode<cell_summary>(item.payload);
            if (!s || s->readings != item.readings)
                return false;
            summary_.add(*s);
        } else {
            return false;
        }
        ++pending_;
        return true;
    }

    [[nodiscard]] std::size_t pending() const noexcept { return pending_; }

    [[nodiscard]] aggregate_summary take_summary()
    {
        aggregate_summary out;
        wire::encode(summary_, out.payload);
        out.readings = summary_.readings;
        summary_ = {};
        pending_ = 0;
        return out;
    }

private:
    cell_summary summary_;
    std::size_t pending_ = 0;
};

static_assert(aggregator<summary_aggregator>);

} // namespace meshkit::topology

#endif // MESHKIT_TOPOLOGY_SUMMARY_AGGREGATOR_HPP

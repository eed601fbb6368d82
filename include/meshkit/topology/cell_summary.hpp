// topology/cell_summary.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_TOPOLOGY_CELL_SUMMARY_HPP
#define MESHKIT_TOPOLOGY_CELL_SUMMARY_HPP

#include <meshkit/topology/node_state.hpp>

#include <algorithm>
#include <cstdint>

namespace meshkit::topology {

/** What a leader says upward about its cell: a fixed-size fold of any number of readings.

    Peat's SquadSummary, reduced to what `node_state` carries. Folding is
    associative and commutative, so a summary of summaries is the summary
    of all their readings, whichever leaders folded them in whatever
    order: the root learns the same totals with or without aggregation.
*/
struct cell_summary {
    /// Readings folded in.
    std::uint32_t readings = 0;
    /// Of those, readings from operational nodes.
    std::uint32_t operational = 0;
    /// Readings from nodes on battery, their charge summed (the mean is `battery_sum / on_battery`), and the lowest.
    std::uint32_t on_battery = 0;
    std::uint64_t battery_sum = 0;
    std::uint8_t battery_min_pct = 100;
    /// The bounding box of the positions reported (meaningful when `readings > 0`).
    double lat_min = 90, lat_max = -90, lon_min = 180, lon_max = -180;
    std::uint64_t tracks = 0;

    void add(node_state const& s) noexcept
    {
        ++readings;
        operational += s.operational ? 1 : 0;
        if (s.battery_pct) {
            std::uint8_t const pct = std::min<std::uint8_t>(*s.battery_pct, 100);
            ++on_battery;
            battery_sum += pct;
            battery_min_pct = std::min(battery_min_pct, pct);
        }
        lat_min = std::min(lat_min, s.position.lat);
        lat_max = std::max(lat_max, s.position.lat);
        lon_min = std::min(lon_min, s.position.lon);
        lon_max = std::max(lon_max, s.position.lon);
        tracks += s.tracks;
    }

    void add(cell_summary const& o) noexcept
    {
        readings += o.readings;
        operational += o.operational;
        on_battery += o.on_battery;
        battery_sum += o.battery_sum;
        battery_min_pct = std::min(battery_min_pct, o.battery_min_pct);
        lat_min = std::min(lat_min, o.lat_min);
        lat_max = std::max(lat_max, o.lat_max);
        lon_min = std::min(lon_min, o.lon_min);
        lon_max = std::max(lon_max, o.lon_max);
        tracks += o.tracks;
    }
};

} // namespace meshkit::topology

#endif // MESHKIT_TOPOLOGY_CELL_SUMMARY_HPP

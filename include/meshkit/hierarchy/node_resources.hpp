// hierarchy/node_resources.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_HIERARCHY_NODE_RESOURCES_HPP
#define MESHKIT_HIERARCHY_NODE_RESOURCES_HPP

#include <algorithm>
#include <cstdint>
#include <optional>

namespace meshkit {

/** What a node has to give as a parent or leader: hardware, load, power.

    Loads and the battery are percentages; a figure above 100 is no
    device's and is clamped where it arrives (`clamped`).
*/
struct node_resources {
    std::uint16_t cpu_cores = 0;
    std::uint32_t memory_mb = 0;
    std::uint32_t bandwidth_mbps = 0;
    /// CPU and memory in use, percent.
    std::uint8_t cpu_load_pct = 0;
    std::uint8_t memory_load_pct = 0;
    /// Battery charge, percent; no value: on mains power.
    std::optional<std::uint8_t> battery_pct;

    friend bool operator==(node_resources const&, node_resources const&) = default;

    /// The same with every percentage brought into [0, 100]; `changed` says whether one was beyond.
    [[nodiscard]] node_resources clamped(bool* changed = nullptr) const noexcept
    {
        node_resources r = *this;
        auto clamp = [&](std::uint8_t& pct) {
            if (pct > 100) {
                pct = 100;
                if (changed)
                    *changed = true;
            }
        };
        clamp(r.cpu_load_pct);
        clamp(r.memory_load_pct);
        if (r.battery_pct)
            clamp(*r.battery_pct);
        return r;
    }

    /** How much this node has to spare, in [0, 1]: Peat's mean of idle CPU, free memory and bandwidth
        (100 Mbit/s or more counts as 1). */
    [[nodiscard]] double spare_score() const noexcept
    {
        double const cpu = 1.0 - std::min<double>(cpu_load_pct, 100) / 100.0;
        double const mem = 1.0 - std::min<double>(memory_load_pct, 100) / 100.0;
        double const bw = std::min<double>(bandwidth_mbps, 100) / 100.0;
        return (cpu + mem + bw) / 3.0;
    }

    /// The battery's charge in [0, 1]; mains power is 1.
    [[nodiscard]] double battery_score() const noexcept
    {
        return battery_pct ? std::min<double>(*battery_pct, 100) / 100.0 : 1.0;
    }

    /** Whether it can carry children: Peat's floor of 2 cores, 512 MB, 10 Mbit/s, and no more than 80 %
        CPU and memory load. */
    [[nodiscard]] bool can_carry_children() const noexcept
    {
        return cpu_cores >= 2 && memory_mb >= 512 && bandwidth_mbps >= 10 && cpu_load_pct <= 80 &&
               memory_load_pct <= 80;
    }
};

} // namespace meshkit

#endif // MESHKIT_HIERARCHY_NODE_RESOURCES_HPP

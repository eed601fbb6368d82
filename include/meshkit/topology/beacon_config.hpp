// topology/beacon_config.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_TOPOLOGY_BEACON_CONFIG_HPP
#define MESHKIT_TOPOLOGY_BEACON_CONFIG_HPP

#include <meshkit/time.hpp>

#include <chrono>
#include <cstddef>
#include <optional>
#include <stdexcept>

namespace meshkit::topology {

/** How often a node beacons, how long a beacon counts, and how far the node looks: Peat's BeaconConfig.

    The four presets are Peat's (`beacon_config::standard()` is Peat's
    "default", a C++ keyword).
*/
struct beacon_config {
    /// Characters of geohash: the size of the cells nodes are grouped by (7: about 153 m).
    std::size_t geohash_precision = 7;
    /// Keep beacons from any distance (no `max_distance_m`).
    bool track_all = false;
    /// Beacons from farther than this are not kept, and no parent is chosen beyond it (metres).
    double max_distance_m = 5'000;
    duration broadcast_interval = std::chrono::seconds(5);
    /// A beacon not refreshed for this long is dropped: the node is gone, or out of range.
    duration ttl = std::chrono::seconds(30);
    /// How often expired beacons are swept.
    duration janitor_interval = std::chrono::seconds(5);
    /// The most nodes tracked at once: a flood of beacons from new ids cannot grow it.
    std::size_t capacity = 1024;

    /// The range that applies: `max_distance_m`, or none with `track_all`.
    [[nodiscard]] std::optional<double> range_m() const noexcept
    {
        return track_all ? std::nullopt : std::optional<double>(max_distance_m);
    }

    /// Peat's default: precision 7, 5 km, every 5 s, TTL 30 s.
    static beacon_config standard() { return {}; }

    /// Peat's tactical preset: precision 8 (about 38 m), 2 km, every 3 s, TTL 15 s, swept every 3 s.
    static beacon_config tactical()
    {
        beacon_config c;
        c.geohash_precision = 8;
        c.max_distance_m = 2'000;
        c.broadcast_interval = std::chrono::seconds(3);
        c.ttl = std::chrono::seconds(15);
        c.janitor_interval = std::chrono::seconds(3);
        return c;
    }

    /// Peat's distributed preset: precision 5 (about 4.9 km), every distance, every 10 s, TTL 60 s.
    static beacon_config distributed()
    {
        beacon_config c;
        c.geohash_precision = 5;
        c.track_all = true;
        c.broadcast_interval = std::chrono::seconds(10);
        c.ttl = std::chrono::seconds(60);
        c.janitor_interval = std::chrono::seconds(10);
        return c;
    }

    /// Peat's hybrid preset: precision 6 (about 1.2 km), 10 km, every 5 s, TTL 30 s.
    static beacon_config hybrid()
    {
        beacon_config c;
        c.geohash_precision = 6;
        c.max_distance_m = 10'000;
        return c;
    }

    /// @throws std::invalid_argument for a precision outside [1, 12], a zero interval, capacity or range,
    /// or a TTL no longer than the interval (every beacon would expire before the next).
    void validate() const
    {
        if (geohash_precision < 1 || geohash_precision > 12)
            throw std::invalid_argument("meshkit: beacon_config::geohash_precision must be in [1, 12]");
        if (broadcast_interval.count() <= 0 || janitor_interval.count() <= 0)
            throw std::invalid_argument("meshkit: beacon_config intervals must be positive");
        if (ttl <= broadcast_interval)
            throw std::invalid_argument("meshkit: beacon_config::ttl must be longer than broadcast_interval");
        if (capacity == 0)
            throw std::invalid_argument("meshkit: beacon_config::capacity must be positive");
        if (!track_all && !(max_distance_m > 0))
            throw std::invalid_argument("meshkit: beacon_config::max_distance_m must be positive");
    }
};

} // namespace meshkit::topology

#endif // MESHKIT_TOPOLOGY_BEACON_CONFIG_HPP

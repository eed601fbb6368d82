// hierarchy/geo_position.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_HIERARCHY_GEO_POSITION_HPP
#define MESHKIT_HIERARCHY_GEO_POSITION_HPP

#include <cmath>
#include <optional>

namespace meshkit {

/** Where a node is on the Earth: WGS 84 latitude and longitude in degrees, altitude in metres.

    What a beacon carries and what parent selection measures distance
    with. A position no device reports (NaN, infinite, a latitude beyond
    ±90°, a longitude beyond ±180°, an altitude below the Dead Sea's shore
    by far or above 100 km) is not plausible and is refused where it
    arrives.
*/
struct geo_position {
    double lat = 0;
    double lon = 0;
    std::optional<double> alt;

    friend bool operator==(geo_position const&, geo_position const&) = default;

    /// Whether some device on (or above) the Earth could report it.
    [[nodiscard]] bool is_plausible() const noexcept
    {
        if (!std::isfinite(lat) || !std::isfinite(lon) || lat < -90 || lat > 90 || lon < -180 || lon > 180)
            return false;
        return !alt || (std::isfinite(*alt) && *alt >= -1'000 && *alt <= 100'000);
    }
};

/// The mean Earth radius (IUGG), in metres.
inline constexpr double earth_radius_m = 6'371'008.8;

/** The great-circle distance between `a` and `b` in metres (haversine; altitude ignored).

    Accurate to about 0.5 % (the Earth is not a sphere), which is far
    finer than radio range or a parent's reach needs.
*/
[[nodiscard]] inline double distance_m(geo_position const& a, geo_position const& b) noexcept
{
    constexpr double to_rad = 3.14159265358979323846 / 180.0;
    double const dlat = (b.lat - a.lat) * to_rad;
    double const dlon = (b.lon - a.lon) * to_rad;
    double const s = std::sin(dlat / 2) * std::sin(dlat / 2) +
                     std::cos(a.lat * to_rad) * std::cos(b.lat * to_rad) * std::sin(dlon / 2) * std::sin(dlon / 2);
    return 2 * earth_radius_m * std::asin(std::sqrt(std::fmin(1.0, s)));
}

/** The position `north_m` metres north and `east_m` metres east of `origin` (a flat-Earth step).

    For placing nodes on a map in scenarios and tests; good to well under
    1 % over tens of kilometres away from the poles.
*/
[[nodiscard]] inline geo_position offset_m(geo_position const& origin, double north_m, double east_m) noexcept
{
    constexpr double to_deg = 180.0 / 3.14159265358979323846;
    double const lat = origin.lat + north_m / earth_radius_m * to_deg;
    double const lon = origin.lon + east_m / (earth_radius_m * std::cos(origin.lat / to_deg)) * to_deg;
    return geo_position{lat, lon, origin.alt};
}

} // namespace meshkit

#endif // MESHKIT_HIERARCHY_GEO_POSITION_HPP

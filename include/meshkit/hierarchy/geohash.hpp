// hierarchy/geohash.hpp
// ~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_HIERARCHY_GEOHASH_HPP
#define MESHKIT_HIERARCHY_GEOHASH_HPP

#include <meshkit/hierarchy/geo_position.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace meshkit {

/// The longest geohash meshkit computes or accepts: 12 characters, a cell of about 3.7 cm × 1.9 cm.
inline constexpr std::size_t max_geohash_precision = 12;

/** The geohash of `p` with `precision` characters (clamped to [1, 12]).

    Gustavo Niemeyer's public-domain encoding: longitude and latitude
    bits interleaved (longitude first), five bits to a base-32 character.
    Nodes in one cell share a prefix, which is what geographic discovery
    groups them by. Precision 5 is a cell of about 4.9 km × 4.9 km,
    6 about 1.2 km × 0.6 km, 7 (Peat's default) about 153 m × 153 m,
    8 about 38 m × 19 m.
*/
[[nodiscard]] inline std::string geohash(geo_position const& p, std::size_t precision = 7)
{
    static constexpr char alphabet[] = "0123456789bcdefghjkmnpqrstuvwxyz";
    precision = precision < 1 ? 1 : (precision > max_geohash_precision ? max_geohash_precision : precision);
    double lat_lo = -90, lat_hi = 90, lon_lo = -180, lon_hi = 180;
    std::string out;
    out.reserve(precision);
    bool lon_bit = true;
    while (out.size() < precision) {
        unsigned index = 0;
        for (int bit = 0; bit < 5; ++bit) {
            double& lo = lon_bit ? lon_lo : lat_lo;
            double& hi = lon_bit ? lon_hi : lat_hi;
            double const value = lon_bit ? p.lon : p.lat;
            double const mid = (lo + hi) / 2;
            index <<= 1;
            if (value >= mid) {
                index |= 1;
                lo = mid;
            } else {
                hi = mid;
            }
            lon_bit = !lon_bit;
        }
        out.push_back(alphabet[index]);
    }
    return out;
}

/// Whether `s` is a geohash: 1 to 12 characters of the geohash alphabet (lowercase).
[[nodiscard]] constexpr bool is_geohash(std::string_view s) noexcept
{
    if (s.empty() || s.size() > max_geohash_precision)
        return false;
    for (char c : s) {
        bool const digit = c >= '0' && c <= '9';
        bool const letter = c >= 'b' && c <= 'z' && c != 'i' && c != 'l' && c != 'o';
        if (!digit && !letter)
            return false;
    }
    return true;
}

} // namespace meshkit

#endif // MESHKIT_HIERARCHY_GEOHASH_HPP

// hierarchy/mobility.hpp
// ~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_HIERARCHY_MOBILITY_HPP
#define MESHKIT_HIERARCHY_MOBILITY_HPP

#include <cstdint>

namespace meshkit {

/// How much a node moves: a fixed node makes a steadier parent or leader than a moving one.
enum class mobility : std::uint8_t {
    /** Does not move (a mast, a building, a parked vehicle). */
    fixed = 1,
    /** Moves now and then and stops for long spells. */
    semi_mobile,
    /** Moves all the time (a walking soldier, a drone). */
    mobile,
};

/** How steady a parent or leader of this mobility is, in [0, 1]: Peat's 1.0 / 0.6 / 0.3.

    An unknown mobility (none said, or a value this version does not
    know) scores 0.5, as every unknown input does.
*/
[[nodiscard]] constexpr double mobility_score(mobility m) noexcept
{
    switch (m) {
    case mobility::fixed: return 1.0;
    case mobility::semi_mobile: return 0.6;
    case mobility::mobile: return 0.3;
    }
    return 0.5;
}

/// A short lowercase name, for logs and flags.
constexpr char const* to_string(mobility m) noexcept
{
    switch (m) {
    case mobility::fixed: return "fixed";
    case mobility::semi_mobile: return "semi_mobile";
    case mobility::mobile: return "mobile";
    }
    return "unknown";
}

} // namespace meshkit

#endif // MESHKIT_HIERARCHY_MOBILITY_HPP

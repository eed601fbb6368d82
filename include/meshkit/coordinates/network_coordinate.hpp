// coordinates/network_coordinate.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_COORDINATES_NETWORK_COORDINATE_HPP
#define MESHKIT_COORDINATES_NETWORK_COORDINATE_HPP

#include <meshkit/time.hpp>

#include <array>
#include <chrono>
#include <cmath>
#include <cstddef>

namespace meshkit::coordinates {

/// Dimensions of a coordinate's Euclidean part (Serf: 8, plus a height).
inline constexpr std::size_t dimensions = 8;

/** A node's place in a Vivaldi latency space: estimated RTT between two nodes is their distance.

    Serf's model (Dabek et al. 2004; Ledlie et al. 2007): a Euclidean
    vector plus a height (the node's access link, added on every path)
    plus an adjustment (a per-node offset learnt from what the vector
    cannot fit). All in seconds. On the wire it is 44 bytes; it is a
    position, never a time, so two hosts' clocks never meet in it.
    A coordinate from the network is used only when `is_plausible()`.
*/
struct network_coordinate {
    std::array<float, dimensions> vec{};
    float height = 10e-6f;
    /// The node's own estimate of its relative error; 1.5 (the maximum) for a node that has measured nothing.
    float error = 1.5f;
    float adjustment = 0.0f;

    /** Finite, and inside what a real network produces: every component and the height within
        ±100 s, the error in [0, 1.5]. What a peer sends is checked with this before any use.
    */
    [[nodiscard]] bool is_plausible() const noexcept
    {
        constexpr float limit = 100.0f;
        for (float v : vec)
            if (!std::isfinite(v) || std::fabs(v) > limit)
                return false;
        return std::isfinite(height) && height >= 0 && height <= limit && std::isfinite(adjustment) &&
               std::fabs(adjustment) <= limit && std::isfinite(error) && error >= 0 && error <= 1.5f;
    }

    /// The Euclidean part's distance plus both heights, in seconds, without the adjustments.
    [[nodiscard]] double raw_distance_to(network_coordinate const& other) const noexcept
    {
        double sum = 0;
        for (std::size_t i = 0; i < dimensions; ++i) {
            double const d = static_cast<double>(vec[i]) - static_cast<double>(other.vec[i]);
            sum += d * d;
        }
        return std::sqrt(sum) + static_cast<double>(height) + static_cast<double>(other.height);
    }

    /// The estimated round trip to `other`: the distance with both adjustments, when that stays positive.
    [[nodiscard]] duration estimate_rtt(network_coordinate const& other) const noexcept
    {
        double const raw = raw_distance_to(other);
        double const adjusted = raw + static_cast<double>(adjustment) + static_cast<double>(other.adjustment);
        double const seconds = adjusted > 0 ? adjusted : raw;
        return std::chrono::duration_cast<duration>(std::chrono::duration<double>(seconds));
    }

    friend bool operator==(network_coordinate const&, network_coordinate const&) = default;
};

} // namespace meshkit::coordinates

#endif // MESHKIT_COORDINATES_NETWORK_COORDINATE_HPP

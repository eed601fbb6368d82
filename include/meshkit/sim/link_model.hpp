// sim/link_model.hpp
// ~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_SIM_LINK_MODEL_HPP
#define MESHKIT_SIM_LINK_MODEL_HPP

#include <meshkit/detail/rng.hpp>
#include <meshkit/time.hpp>

#include <chrono>
#include <cstdint>

namespace meshkit::sim {

/** A one-way latency, fixed or drawn uniformly from a range.

    The network draws one value per pair of endpoints from a hash of the
    seed and the pair, so the same link keeps the same base latency for the
    whole run (as a real path does) without the network storing n² entries.
*/
struct latency_distribution {
    duration low = std::chrono::milliseconds(10);
    duration high = std::chrono::milliseconds(10);

    /// Every link has latency `d`.
    static constexpr latency_distribution fixed(duration d) noexcept { return {d, d}; }

    /// Each link's latency is uniform in [lo, hi].
    static constexpr latency_distribution uniform(duration lo, duration hi) noexcept { return {lo, hi}; }

    /// The latency for a link whose stable 64-bit key is `key`.
    [[nodiscard]] constexpr duration pick(std::uint64_t key) const noexcept
    {
        if (high <= low)
            return low;
        auto const span = static_cast<std::uint64_t>((high - low).count()) + 1;
        auto const scaled = static_cast<std::uint64_t>((static_cast<detail::uint128>(key) * span) >> 64);
        return low + duration(static_cast<duration::rep>(scaled));
    }
};

/** How a link treats each datagram and each stream.

    Defaults describe a clean 10 ms, 100 Mbit/s link. Loss, duplication and
    reordering are per-datagram probabilities drawn from the network's
    seeded generator.
*/
struct link_model {
    /// Base one-way latency of the link (stable per endpoint pair).
    latency_distribution latency{};
    /// Extra per-datagram delay, uniform in [0, jitter]; jitter alone can reorder.
    duration jitter{0};
    /// Probability that a datagram is dropped.
    double loss = 0.0;
    /// Probability that a datagram is delivered twice.
    double duplicate = 0.0;
    /// Probability that a datagram is held back by up to `reorder_window`, letting later ones pass it.
    double reorder = 0.0;
    /// The longest extra hold of a reordered datagram.
    duration reorder_window = std::chrono::milliseconds(50);
    /** Stream bandwidth in bytes per second, each direction; 0 means unlimited.

        The streams between two hosts share it, one frame after another.
        Datagrams ignore it: each is at most 1,200 bytes (0.1 ms at the
        default 100 Mbit/s), and charging them would change every datagram
        trace. Loss, duplication, jitter and reordering do not apply to
        streams (see docs/simulator.md#streams).
    */
    std::uint64_t bandwidth = 12'500'000;
};

} // namespace meshkit::sim

#endif // MESHKIT_SIM_LINK_MODEL_HPP

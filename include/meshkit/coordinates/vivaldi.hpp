// coordinates/vivaldi.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_COORDINATES_VIVALDI_HPP
#define MESHKIT_COORDINATES_VIVALDI_HPP

#include <meshkit/coordinates/network_coordinate.hpp>
#include <meshkit/time.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>

namespace meshkit::coordinates {

/// Vivaldi's constants; the defaults are Serf's (`coordinate/config.go`), which are the paper's.
struct vivaldi_config {
    /// The largest error a node may claim, and where it starts.
    double error_max = 1.5;
    /// How fast the error estimate follows a new sample (c_e) and how far one sample moves the node (c_c).
    double ce = 0.25;
    double cc = 0.25;
    /// Samples averaged into the adjustment term.
    std::size_t adjustment_window = 20;
    /// The smallest height, seconds (10 µs).
    double height_min = 10e-6;
    /// The pull back towards the origin that stops a whole swarm drifting (seconds; Serf: 150).
    double gravity_rho = 150.0;
};

/// What `vivaldi` counted.
struct vivaldi_stats {
    std::uint64_t updates = 0;
    /// Samples refused: a peer coordinate that is not plausible, or an RTT that is not positive and finite.
    std::uint64_t rejected = 0;
    /// Times the coordinate went out of bounds and started again from the origin.
    std::uint64_t resets = 0;
};

/** A node's own Vivaldi coordinate, moved by each measured round trip to a node whose coordinate it knows.

    The algorithm is Vivaldi's spring relaxation with Serf's additions:
    a height, an adaptive timestep weighted by both nodes' errors, an
    adjustment averaged over the last 20 samples, and gravity towards the
    origin. Feed it RTTs already filtered (meshkit's callers take the
    median of the last three per peer, as Serf's latency filter does).
    A sample with an implausible coordinate or RTT changes nothing.
    `Rng` is only used when two coordinates coincide, to pick a direction.
*/
class vivaldi {
public:
    vivaldi() = default;
    explicit vivaldi(vivaldi_config cfg) : cfg_(cfg) { reset(); }

    [[nodiscard]] network_coordinate const& coordinate() const noexcept { return coord_; }
    [[nodiscard]] vivaldi_stats const& stats() const noexcept { return stats_; }

    /// The estimated round trip from this node to `other`.
    [[nodiscard]] duration estimate_rtt(network_coordinate const& other) const noexcept
    {
        return coord_.estimate_rtt(other);
    }

    /// One measured round trip `rtt` to a node at `other`; returns whether it was used.
    template <class Rng>
    bool update(network_coordinate const& other, duration rtt, Rng& rng)
    {
        double const seconds = std::chrono::duration<double>(rtt).count();
        if (!other.is_plausible() || !std::isfinite(seconds) || seconds <= 0 || seconds > 100) {
            ++stats_.rejected;
            return false;
        }
        ++stats_.updates;
        move(other, std::max(seconds, zero_threshold), rng);
        adjust(other, seconds);
        pull_to_origin(rng);
        if (!coord_.is_plausible()) {
            ++stats_.resets;
            reset();
        }
        return true;
    }

private:
    static constexpr double zero_threshold = 1.0e-6;

    void reset()
    {
        coord_ = network_coordinate{};
        coord_.height = static_cast<float>(cfg_.height_min);
        coord_.error = static_cast<float>(cfg_.error_max);
        samples_.fill(0.0);
        sample_count_ = 0;
        next_sample_ = 0;
    }

    template <class Rng>
    void move(network_coordinate const& other, double rtt, Rng& rng)
    {
        double const dist = std::chrono::duration<double>(coord_.estimate_rtt(other)).count();
        double const wrongness = std::fabs(dist - rtt) / rtt;
        double const total_error = std::max(static_cast<double>(coord_.error) + other.error, zero_threshold);
        double const weight = coord_.error / total_error;
        double const error = cfg_.ce * weight * wrongness + coord_.error * (1.0 - cfg_.ce * weight);
        coord_.error = static_cast<float>(std::min(error, cfg_.error_max));
        apply_force(cfg_.cc * weight * (rtt - dist), other, rng);
    }

    /// Moves this coordinate `force` seconds away from `other` (towards it when negative).
    template <class Rng>
    void apply_force(double force, network_coordinate const& other, Rng& rng)
    {
        std::array<double, dimensions> unit{};
        double mag = 0;
        for (std::size_t i = 0; i < dimensions; ++i) {
            unit[i] = static_cast<double>(coord_.vec[i]) - other.vec[i];
            mag += unit[i] * unit[i];
        }
        mag = std::sqrt(mag);
        if (mag > zero_threshold) {
            for (double& u : unit)
                u /= mag;
        } else {
            // Two nodes in one place: push apart in a random direction.
            double norm = 0;
            for (double& u : unit) {
                u = static_cast<double>(rng() % 2001) / 1000.0 - 1.0;
                norm += u * u;
            }
            norm = std::sqrt(std::max(norm, zero_threshold));
            for (double& u : unit)
                u /= norm;
            mag = 0;
        }
        for (std::size_t i = 0; i < dimensions; ++i)
            coord_.vec[i] = static_cast<float>(coord_.vec[i] + unit[i] * force);
        if (mag > zero_threshold) {
            double const h = (static_cast<double>(coord_.height) + other.height) * force / mag + coord_.height;
            coord_.height = static_cast<float>(std::max(h, cfg_.height_min));
        }
    }

    /// The adjustment: half the mean of what the vector and heights failed to explain, over the window.
    void adjust(network_coordinate const& other, double rtt)
    {
        if (cfg_.adjustment_window == 0)
            return;
        samples_[next_sample_] = rtt - coord_.raw_distance_to(other);
        next_sample_ = (next_sample_ + 1) % std::min(cfg_.adjustment_window, samples_.size());
        sample_count_ = std::min(sample_count_ + 1, std::min(cfg_.adjustment_window, samples_.size()));
        double sum = 0;
        for (std::size_t i = 0; i < sample_count_; ++i)
            sum += samples_[i];
        coord_.adjustment = static_cast<float>(sum / (2.0 * static_cast<double>(cfg_.adjustment_window)));
    }

    /// Gravity: a pull towards the origin, growing with the square of the distance, so the swarm stays centred.
    template <class Rng>
    void pull_to_origin(Rng& rng)
    {
        network_coordinate origin{};
        origin.height = static_cast<float>(cfg_.height_min);
        double const dist = std::chrono::duration<double>(coord_.estimate_rtt(origin)).count();
        double const force = -(dist / cfg_.gravity_rho) * (dist / cfg_.gravity_rho);
        apply_force(force, origin, rng);
    }

    vivaldi_config cfg_{};
    network_coordinate coord_{};
    std::array<double, 64> samples_{};
    std::size_t sample_count_ = 0;
    std::size_t next_sample_ = 0;
    vivaldi_stats stats_;
};

} // namespace meshkit::coordinates

#endif // MESHKIT_COORDINATES_VIVALDI_HPP

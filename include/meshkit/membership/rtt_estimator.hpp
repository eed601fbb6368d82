// membership/rtt_estimator.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_MEMBERSHIP_RTT_ESTIMATOR_HPP
#define MESHKIT_MEMBERSHIP_RTT_ESTIMATOR_HPP

#include <meshkit/time.hpp>

#include <algorithm>
#include <cstdint>

namespace meshkit::membership {

/** A smoothed round-trip time, as TCP keeps one (RFC 6298).

    `smoothed` is an exponentially weighted moving average with weight
    `alpha` on each new sample; `variation` tracks the mean deviation with
    weight `beta`. The first sample sets both directly, so one ping is
    enough for a usable estimate.
*/
class rtt_estimator {
public:
    explicit rtt_estimator(double alpha = 0.125, double beta = 0.25) noexcept : alpha_(alpha), beta_(beta) {}

    void sample(duration rtt) noexcept
    {
        auto const r = static_cast<double>(rtt.count());
        if (samples_ == 0) {
            srtt_ = r;
            rttvar_ = r / 2;
            min_ = rtt;
        } else {
            rttvar_ = (1 - beta_) * rttvar_ + beta_ * (r > srtt_ ? r - srtt_ : srtt_ - r);
            srtt_ = (1 - alpha_) * srtt_ + alpha_ * r;
            min_ = std::min(min_, rtt);
        }
        ++samples_;
    }

    /// The smoothed RTT; zero before the first sample.
    [[nodiscard]] duration smoothed() const noexcept { return duration(static_cast<duration::rep>(srtt_)); }
    /// The smoothed mean deviation.
    [[nodiscard]] duration variation() const noexcept { return duration(static_cast<duration::rep>(rttvar_)); }
    /// The smallest RTT seen: the best estimate of the path's propagation delay.
    [[nodiscard]] duration minimum() const noexcept { return min_; }
    [[nodiscard]] std::uint64_t samples() const noexcept { return samples_; }

private:
    double alpha_;
    double beta_;
    double srtt_ = 0;
    double rttvar_ = 0;
    duration min_{0};
    std::uint64_t samples_ = 0;
};

} // namespace meshkit::membership

#endif // MESHKIT_MEMBERSHIP_RTT_ESTIMATOR_HPP

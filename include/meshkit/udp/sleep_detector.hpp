// udp/sleep_detector.hpp
// ~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_UDP_SLEEP_DETECTOR_HPP
#define MESHKIT_UDP_SLEEP_DETECTOR_HPP

#include <meshkit/time.hpp>

#include <chrono>
#include <optional>

namespace meshkit::udp {

/** Tells a sleep from readings of two clocks: the monotonic one stops while the machine sleeps, the boot-time one does not. Sans-IO.

    Linux's `CLOCK_MONOTONIC` does not count time in suspend;
    `CLOCK_BOOTTIME` does. Their difference is constant while the machine
    runs and grows by the length of each sleep, so a growth beyond
    `threshold` between two readings is a wake. A process stopped by a
    debugger, or starved, moves both clocks alike: it is no sleep, and it
    is not reported (the topic host's probes deal with that).
*/
class sleep_detector {
public:
    explicit sleep_detector(duration threshold = std::chrono::seconds(2)) : threshold_(threshold) {}

    /// Feeds one reading of both clocks. @return how long the machine slept since the last reading, if longer than `threshold`.
    std::optional<duration> sample(duration monotonic, duration boottime)
    {
        duration const gap = boottime - monotonic;
        std::optional<duration> slept;
        if (last_gap_ && gap - *last_gap_ > threshold_)
            slept = gap - *last_gap_;
        last_gap_ = gap;
        return slept;
    }

    [[nodiscard]] duration threshold() const noexcept { return threshold_; }

private:
    duration threshold_;
    std::optional<duration> last_gap_;
};

} // namespace meshkit::udp

#endif // MESHKIT_UDP_SLEEP_DETECTOR_HPP

// time.hpp
// ~~~~~~~~
#ifndef MESHKIT_TIME_HPP
#define MESHKIT_TIME_HPP

#include <chrono>
#include <cstdint>

namespace meshkit {

/// The resolution of every duration meshkit stores or puts on the wire.
using duration = std::chrono::nanoseconds;

/** The epoch of a node's monotonic clock.

    Every clock policy (the simulator's virtual clock, the steady clock of the
    UDP runtime) reports time as a `meshkit::time_point`, so engines are written
    once against one type. Only differences between two time points of the same
    clock are meaningful: two hosts' monotonic clocks are unrelated (each
    counts from its own boot, in its own time namespace), so no engine puts
    a time point on the wire. Messages carry ages relative to the sender's
    now, or versions, instead.
*/
struct clock_epoch {
    using rep = std::chrono::nanoseconds::rep;
    using period = std::chrono::nanoseconds::period;
    using duration = std::chrono::nanoseconds;
    using time_point = std::chrono::time_point<clock_epoch>;
    static constexpr bool is_steady = true;
};

/// A point on a node's monotonic clock.
using time_point = clock_epoch::time_point;

/// Whole seconds on a node's clock: for ages kept in a cache, never for the wire.
[[nodiscard]] constexpr std::int64_t whole_seconds(time_point t) noexcept
{
    return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

} // namespace meshkit

#endif // MESHKIT_TIME_HPP

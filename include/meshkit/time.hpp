// time.hpp
// ~~~~~~~~
#ifndef MESHKIT_TIME_HPP
#define MESHKIT_TIME_HPP

#include <chrono>

namespace meshkit {

/// The resolution of every duration meshkit stores or puts on the wire.
using duration = std::chrono::nanoseconds;

/** The epoch of a node's monotonic clock.

    Every clock policy (the simulator's virtual clock, the steady clock of the
    UDP runtime) reports time as a `meshkit::time_point`, so engines are written
    once against one type. Only differences between two time points of the same
    clock are meaningful. One protocol puts absolute values on the wire by
    design: cache gossip (Flashback's), whose timestamps and record versions
    are compared against a 30 s skew limit; its nodes need clocks that share
    an epoch to within that (one host, or synchronised wall clocks).
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

} // namespace meshkit

#endif // MESHKIT_TIME_HPP

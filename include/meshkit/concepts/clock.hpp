// concepts/clock.hpp
// ~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_CONCEPTS_CLOCK_HPP
#define MESHKIT_CONCEPTS_CLOCK_HPP

#include <meshkit/time.hpp>

#include <concepts>
#include <cstdint>
#include <functional>

namespace meshkit {

/// What a clock calls when a timer fires.
using timer_callback = std::function<void()>;

/// Names an armed timer so it can be cancelled; the zero handle names none.
struct timer_handle {
    std::uint64_t value = 0;
    explicit operator bool() const noexcept { return value != 0; }
    friend bool operator==(timer_handle, timer_handle) = default;
};

/** What "now" is, and how timers fire.

    A type `C` models `clock` if, for `c` a `C`, `cc` a `C const`, `at` a
    `meshkit::time_point`, `cb` a `timer_callback` and `h` a `timer_handle`:

    1. `cc.now()` returns the current `meshkit::time_point`; successive calls
       never go backwards.
    2. `c.set_timer(at, cb)` arranges for `cb` to be called once, no earlier
       than `at`, from the same thread that delivers datagrams, and returns a
       non-zero `timer_handle`.
    3. `c.cancel(h)` guarantees the callback of `h` will not run; cancelling a
       handle that fired or was cancelled already does nothing.

    See docs/concepts/clock.md.
*/
template <class C>
concept clock = requires(C& c, C const& cc, time_point at, timer_callback cb, timer_handle h) {
    { cc.now() } -> std::same_as<time_point>;
    { c.set_timer(at, std::move(cb)) } -> std::same_as<timer_handle>;
    { c.cancel(h) } -> std::same_as<void>;
};

} // namespace meshkit

#endif // MESHKIT_CONCEPTS_CLOCK_HPP

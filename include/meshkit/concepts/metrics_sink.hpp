// concepts/metrics_sink.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_CONCEPTS_METRICS_SINK_HPP
#define MESHKIT_CONCEPTS_METRICS_SINK_HPP

#include <concepts>
#include <cstdint>
#include <string_view>

namespace meshkit {

/** Where counters, gauges and histograms go.

    A type `M` models `metrics_sink` if, for `m` an `M`, `name` a
    `std::string_view`, `n` a `std::uint64_t` and `v` a `double`:

    1. `m.increment(name, n)` adds `n` to the counter `name`.
    2. `m.set_gauge(name, v)` sets the gauge `name` to `v`.
    3. `m.observe(name, v)` records one sample `v` in the histogram `name`.

    Names follow Prometheus conventions (`meshkit_datagrams_sent_total`) and
    are string literals, so a sink may keep the view. A sink whose members do
    nothing (`metrics::null_metrics`) costs nothing after inlining.

    See docs/concepts/metrics_sink.md.
*/
template <class M>
concept metrics_sink = requires(M& m, std::string_view name, std::uint64_t n, double v) {
    { m.increment(name, n) } -> std::same_as<void>;
    { m.set_gauge(name, v) } -> std::same_as<void>;
    { m.observe(name, v) } -> std::same_as<void>;
};

} // namespace meshkit

#endif // MESHKIT_CONCEPTS_METRICS_SINK_HPP

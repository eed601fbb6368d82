// metrics/null_metrics.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_METRICS_NULL_METRICS_HPP
#define MESHKIT_METRICS_NULL_METRICS_HPP

#include <meshkit/concepts/metrics_sink.hpp>

#include <cstdint>
#include <string_view>

namespace meshkit::metrics {

/// Discards everything; models `meshkit::metrics_sink` at zero cost once inlined.
struct null_metrics {
    constexpr void increment(std::string_view, std::uint64_t) noexcept {}
    constexpr void set_gauge(std::string_view, double) noexcept {}
    constexpr void observe(std::string_view, double) noexcept {}
};

} // namespace meshkit::metrics

#endif // MESHKIT_METRICS_NULL_METRICS_HPP

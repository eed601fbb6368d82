// metrics/in_memory_metrics.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_METRICS_IN_MEMORY_METRICS_HPP
#define MESHKIT_METRICS_IN_MEMORY_METRICS_HPP

#include <meshkit/concepts/metrics_sink.hpp>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <string_view>

namespace meshkit::metrics {

/// What an `in_memory_metrics` histogram keeps: enough for mean and range, in constant space.
struct summary {
    std::uint64_t count = 0;
    double sum = 0;
    double min = std::numeric_limits<double>::infinity();
    double max = -std::numeric_limits<double>::infinity();

    [[nodiscard]] double mean() const noexcept { return count ? sum / static_cast<double>(count) : 0.0; }
};

/** Keeps every metric in memory for inspection; models `meshkit::metrics_sink`.

    Tests and examples assert on it. Space is bounded by the number of distinct metric names,
    which is fixed by the code, not by traffic. Histograms are summaries
    (count, sum, min, max); a Prometheus sink keeps buckets.
*/
class in_memory_metrics {
public:
    void increment(std::string_view name, std::uint64_t n) { find_or_add(counters_, name) += n; }
    void set_gauge(std::string_view name, double v) { find_or_add(gauges_, name) = v; }
    void observe(std::string_view name, double v)
    {
        summary& s = find_or_add(histograms_, name);
        ++s.count;
        s.sum += v;
        s.min = std::min(s.min, v);
        s.max = std::max(s.max, v);
    }

    /// The counter's value, 0 if never incremented.
    [[nodiscard]] std::uint64_t counter(std::string_view name) const { return get(counters_, name); }
    /// The gauge's value, 0 if never set.
    [[nodiscard]] double gauge(std::string_view name) const { return get(gauges_, name); }
    /// The histogram's summary, empty if never observed.
    [[nodiscard]] summary histogram(std::string_view name) const { return get(histograms_, name); }

    [[nodiscard]] std::map<std::string, std::uint64_t, std::less<>> const& counters() const noexcept { return counters_; }
    [[nodiscard]] std::map<std::string, double, std::less<>> const& gauges() const noexcept { return gauges_; }
    [[nodiscard]] std::map<std::string, summary, std::less<>> const& histograms() const noexcept { return histograms_; }

private:
    template <class V>
    static V& find_or_add(std::map<std::string, V, std::less<>>& m, std::string_view name)
    {
        auto it = m.find(name);
        if (it == m.end())
            it = m.emplace(std::string(name), V{}).first;
        return it->second;
    }

    template <class V>
    static V get(std::map<std::string, V, std::less<>> const& m, std::string_view name)
    {
        auto it = m.find(name);
        return it == m.end() ? V{} : it->second;
    }

    std::map<std::string, std::uint64_t, std::less<>> counters_;
    std::map<std::string, double, std::less<>> gauges_;
    std::map<std::string, summary, std::less<>> histograms_;
};

} // namespace meshkit::metrics

#endif // MESHKIT_METRICS_IN_MEMORY_METRICS_HPP

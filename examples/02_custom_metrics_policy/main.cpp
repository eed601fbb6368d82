// Example: a custom metrics policy.
//
// Any type with increment / set_gauge / observe models meshkit::metrics_sink
// (docs/concepts/metrics_sink.md). Here the sink counts bytes sent and keeps
// the worst RTT, and main() checks the hub against a traffic budget. It
// replaces one member of the simulator bundle; everything else stays.

#include <meshkit/meshkit.hpp>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string_view>
#include <vector>

using namespace std::chrono_literals;

/// Counts bytes sent and remembers the largest RTT seen.
class budget_metrics {
public:
    void increment(std::string_view name, std::uint64_t n)
    {
        if (name == "meshkit_bytes_sent_total")
            bytes_sent_ += n;
    }
    void set_gauge(std::string_view, double) {}
    void observe(std::string_view name, double value)
    {
        if (name == "meshkit_rtt_seconds" && value > worst_rtt_s_)
            worst_rtt_s_ = value;
    }

    std::uint64_t bytes_sent() const { return bytes_sent_; }
    double worst_rtt_s() const { return worst_rtt_s_; }

private:
    std::uint64_t bytes_sent_ = 0;
    double worst_rtt_s_ = 0;
};

static_assert(meshkit::metrics_sink<budget_metrics>);

// Override one policy. (Had the sink lived in a namespace called `metrics`,
// it would need qualifying: inside the bundle, plain `metrics` names the
// inherited member type.)
struct budget_policies : meshkit::sim_policies {
    using metrics = budget_metrics;
};
using budget_node = meshkit::basic_node<budget_policies>;

int main()
{
    meshkit::sim::network net{7, {meshkit::sim::latency_distribution::uniform(5ms, 80ms)}};
    budget_node hub{net};
    std::vector<std::unique_ptr<budget_node>> leaves;
    for (int i = 0; i < 8; ++i)
        leaves.push_back(std::make_unique<budget_node>(net, meshkit::node_config{},
                                                       meshkit::discovery::static_seeds{hub.local_endpoint()}));
    hub.start();
    for (auto& l : leaves)
        l->start();
    net.advance(10s);

    constexpr double budget_bytes_per_s = 500;
    double const rate = static_cast<double>(hub.metrics().bytes_sent()) / 10.0;
    std::printf("hub: %.0f bytes/s sent (budget %.0f), worst RTT %.1f ms\n", rate, budget_bytes_per_s,
                hub.metrics().worst_rtt_s() * 1e3);
    std::printf("%s\n", rate > budget_bytes_per_s ? "hub is over budget: raise ping_interval or lower max_peers"
                                                  : "hub is within budget");
    // The sink saw the traffic the node itself counted, and real RTTs: the
    // policy is wired in, not just compiled.
    bool const wired = hub.metrics().bytes_sent() == hub.stats().bytes_sent && hub.metrics().worst_rtt_s() > 0;
    return wired ? 0 : 1;
}

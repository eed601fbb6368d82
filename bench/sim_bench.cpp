// meshkit-bench-sim: how fast the simulator runs, in events per second of
// wall time, at 1,000 and 10,000 nodes.
//
// Two workloads: "datagram relay" measures the network alone (every arrival
// is sent on to a random host, 4 datagrams in flight per host); "liveness
// mesh" measures whole sim_nodes (envelope, codec, engine) pinging peers.
//
//   meshkit-bench-sim [--json] [--events N]

#include <common/cli.hpp>
#include <common/report.hpp>

#include <meshkit/node_policies.hpp>
#include <meshkit/sim/network.hpp>
#include <meshkit/sim/transport.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace {

using namespace meshkit;
using namespace std::chrono_literals;

struct outcome {
    std::uint64_t events;
    double wall_s;
};

outcome datagram_relay(std::size_t hosts, std::size_t events)
{
    sim::network net{1, {sim::latency_distribution::uniform(10ms, 50ms)}};
    std::vector<std::unique_ptr<sim::transport>> ts;
    std::vector<endpoint> eps;
    for (std::size_t i = 0; i < hosts; ++i) {
        ts.push_back(std::make_unique<sim::transport>(net));
        eps.push_back(ts.back()->local_endpoint());
    }
    std::byte payload[64]{};
    for (auto& t : ts) {
        auto* self = t.get();
        self->on_receive([&net, &eps, self](endpoint const&, std::span<std::byte const> d) {
            self->send(eps[net.rng().below(eps.size())], d);
        });
        for (int k = 0; k < 4; ++k)
            self->send(eps[net.rng().below(eps.size())], payload);
    }
    auto const t0 = std::chrono::steady_clock::now();
    auto const n = net.run_until_idle(events);
    return {n, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()};
}

outcome liveness_mesh(std::size_t nodes, double seconds)
{
    sim::network net{2, {sim::latency_distribution::uniform(10ms, 50ms)}};
    std::vector<std::unique_ptr<sim_node>> ns;
    for (std::size_t i = 0; i < nodes; ++i) {
        discovery::static_seeds seeds;
        for (int k = 0; k < 3 && i > 0; ++k)
            seeds.add(ns[net.rng().below(i)]->local_endpoint());
        node_config cfg;
        cfg.seed = i;
        ns.push_back(std::make_unique<sim_node>(net, cfg, std::move(seeds)));
    }
    for (auto& n : ns)
        n->start();
    auto const t0 = std::chrono::steady_clock::now();
    auto const before = net.stats().events;
    net.advance(std::chrono::duration_cast<duration>(std::chrono::duration<double>(seconds)));
    return {net.stats().events - before, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()};
}

} // namespace

int main(int argc, char** argv)
{
    bool json = false;
    std::size_t events = 10'000'000;
    CLI::App app{"meshkit-bench-sim: simulator events per second of wall time, at 1,000 and 10,000 nodes.",
                 "meshkit-bench-sim"};
    app.add_flag("--json", json, "Print the figures as JSON instead of a table");
    app.add_option("--events", events, "The datagram relay's event budget (default 10000000)")
        ->check(tools::in_range(1))
        ->type_name("N");
    tools::parse_or_exit(app, argc, argv);

    tools::report_table t{"Simulator throughput (one core)", {"workload", "nodes", "events", "wall s", "M events/s"}};
    tools::figures runs = tools::figures::array();
    auto add = [&](std::string const& workload, std::size_t nodes, outcome const& r) {
        double const events_per_s = static_cast<double>(r.events) / r.wall_s;
        t.add_row({workload, std::to_string(nodes), std::to_string(r.events), tools::fixed(r.wall_s, 2),
                   tools::fixed(events_per_s / 1e6, 2)});
        runs.push_back({{"workload", workload},
                        {"nodes", nodes},
                        {"events", r.events},
                        {"wall_time_s", r.wall_s},
                        {"events_per_s", events_per_s}});
    };
    for (std::size_t n : {1000u, 10000u})
        add("datagram relay", n, datagram_relay(n, events));
    for (std::size_t n : {1000u, 10000u})
        add("liveness mesh (30 s)", n, liveness_mesh(n, 30));
    tools::print_report({t}, {{"tool", "meshkit-bench-sim"}, {"runs", runs}}, json);
}

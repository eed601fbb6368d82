// meshkit-bench-sim: how fast the simulator runs, in events per second of
// wall time, at 1,000 and 10,000 nodes.
//
// Two workloads: "datagram relay" measures the network alone (every arrival
// is sent on to a random host, 4 datagrams in flight per host); "liveness
// mesh" measures whole sim_nodes (envelope, codec, engine) pinging peers.
//
//   meshkit-bench-sim [--json] [--events N]

#include <common/report.hpp>

#include <meshkit/node_policies.hpp>
#include <meshkit/sim/network.hpp>
#include <meshkit/sim/transport.hpp>

#include <chrono>
#include <cstdlib>
#include <cstring>
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
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--json") == 0)
            json = true;
        else if (std::strcmp(argv[i], "--events") == 0 && i + 1 < argc)
            events = std::strtoull(argv[++i], nullptr, 10);
    }
    tools::report_table t{"Simulator throughput (one core)", {"workload", "nodes", "events", "wall s", "M events/s"}};
    for (std::size_t n : {1000u, 10000u}) {
        auto const r = datagram_relay(n, events);
        t.add_row({"datagram relay", std::to_string(n), std::to_string(r.events), tools::fixed(r.wall_s, 2),
                   tools::fixed(static_cast<double>(r.events) / r.wall_s / 1e6, 2)});
    }
    for (std::size_t n : {1000u, 10000u}) {
        auto const r = liveness_mesh(n, 30);
        t.add_row({"liveness mesh (30 s)", std::to_string(n), std::to_string(r.events), tools::fixed(r.wall_s, 2),
                   tools::fixed(static_cast<double>(r.events) / r.wall_s / 1e6, 2)});
    }
    tools::print_report("meshkit-bench-sim", {t}, json);
}

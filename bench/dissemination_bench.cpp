// meshkit-bench-dissemination: Plumtree against push gossip and flooding,
// side by side, on the same HyParView overlay and the same simulated network
// (links 10-50 ms one way), at 1,000, 10,000 and 100,000 nodes.
//
// For each engine and size it forms the overlay, warms up with 5 broadcasts
// from one sender, then measures one more from that sender and 5 from random
// senders. The bound is one delivery per node: "x bound" is payload messages
// received per node divided by that (1.00 is a perfect tree).
//
//   meshkit-bench-dissemination [--json] [--max-nodes N]

#include <common/cli.hpp>
#include <common/report.hpp>

#include <meshkit/broadcast/flooding.hpp>
#include <meshkit/broadcast/plumtree.hpp>
#include <meshkit/broadcast/push_gossip.hpp>
#include <meshkit/node_policies.hpp>
#include <meshkit/sim/cluster.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace {

using namespace meshkit;
using namespace std::chrono_literals;

struct push_policies : sim_policies {
    using engines = type_list<membership::hyparview, broadcast::push_gossip>;
};
struct flood_policies : sim_policies {
    using engines = type_list<membership::hyparview, broadcast::flooding>;
};

double seconds_since(std::chrono::steady_clock::time_point t0)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

template <class Node>
std::uint64_t total_bytes_sent(sim::cluster<Node>& c)
{
    std::uint64_t b = 0;
    for (auto i : c.live_indices())
        b += c.node(i).stats().bytes_sent;
    return b;
}

template <class Node>
void run(tools::report_table& t, tools::figures& runs, std::string const& engine, std::size_t n)
{
    auto const wall0 = std::chrono::steady_clock::now();
    sim::link_model link;
    link.latency = sim::latency_distribution::uniform(10ms, 50ms);
    sim::network net{2026, link};
    typename sim::cluster<Node>::options o;
    o.nodes = n;
    // Joins overlap at scale; forming 100,000 nodes 10 ms apart would take 1,000 simulated seconds.
    o.join_spacing = std::min<duration>(10ms, std::chrono::duration_cast<duration>(10s) / static_cast<long>(n));
    sim::cluster<Node> c{net, o};
    c.start_all();
    net.advance(20s);
    double const form_wall = seconds_since(wall0);

    // Idle overlay traffic over one settle window, to subtract from broadcast windows.
    constexpr auto settle = 5s;
    auto const idle0 = total_bytes_sent(c);
    net.advance(settle);
    auto const idle_bytes = total_bytes_sent(c) - idle0;

    std::vector<std::byte> const payload(512, std::byte{0x42});
    for (int i = 0; i < 5; ++i)
        c.broadcast_from(0, payload, settle);

    auto const events0 = net.stats().events;
    auto const wall1 = std::chrono::steady_clock::now();
    auto const bytes0 = total_bytes_sent(c);
    auto const single = c.broadcast_from(0, payload, settle);
    auto const bytes1 = total_bytes_sent(c);
    double const bcast_wall = seconds_since(wall1);
    auto const bcast_events = net.stats().events - events0;

    double random_rmr = 0, random_delivery = 0;
    for (int i = 0; i < 5; ++i) {
        auto const r = c.broadcast_from(c.random_live(), payload, settle);
        random_rmr += r.rmr / 5;
        random_delivery += r.delivery_ratio() / 5;
    }

    std::size_t state = 0;
    for (auto i : c.live_indices()) {
        auto& node = c.node(i);
        state += node.template engine<membership::hyparview>().state_bytes();
        if constexpr (requires { node.broadcaster().tree_state_bytes(); })
            state += node.broadcaster().tree_state_bytes();
    }
    double const nn = static_cast<double>(n);
    double const per_node_msgs = static_cast<double>(single.payload_messages) / nn;
    double const broadcast_bytes = static_cast<double>(bytes1 - bytes0) - static_cast<double>(idle_bytes);
    double const last_ms = std::chrono::duration<double, std::milli>(single.last_delivery_time).count();
    double const state_per_node = static_cast<double>(state) / nn;
    double const events_per_s = static_cast<double>(bcast_events) / bcast_wall;
    t.add_row({engine, std::to_string(n), tools::fixed(single.delivery_ratio() * 100, 2),
               tools::fixed(single.rmr, 3), std::to_string(single.last_delivery_hop), tools::fixed(last_ms, 0),
               tools::fixed(random_delivery * 100, 2), tools::fixed(random_rmr, 3), tools::fixed(per_node_msgs, 2),
               tools::fixed(broadcast_bytes / nn, 0), tools::fixed(state_per_node, 0), tools::fixed(form_wall, 1),
               tools::fixed(bcast_wall, 2), tools::fixed(events_per_s / 1e6, 2)});
    runs.push_back({{"engine", engine},
                    {"nodes", n},
                    {"delivered_percent", single.delivery_ratio() * 100},
                    {"rmr", single.rmr},
                    {"ldh_hops", single.last_delivery_hop},
                    {"last_delivery_ms", last_ms},
                    {"random_delivered_percent", random_delivery * 100},
                    {"random_rmr", random_rmr},
                    {"payloads_received_per_node", per_node_msgs},
                    {"broadcast_bytes_per_node", broadcast_bytes / nn},
                    {"overlay_state_bytes_per_node", state_per_node},
                    {"form_wall_time_s", form_wall},
                    {"broadcast_wall_time_s", bcast_wall},
                    {"events_per_s", events_per_s}});
}

} // namespace

int main(int argc, char** argv)
{
    bool json = false;
    std::size_t max_nodes = 100000;
    CLI::App app{"meshkit-bench-dissemination: Plumtree, push gossip and flooding side by side, at 1,000, "
                 "10,000 and 100,000 nodes.",
                 "meshkit-bench-dissemination"};
    app.add_flag("--json", json, "Print the figures as JSON instead of a table");
    app.add_option("--max-nodes", max_nodes, "Skip the sizes above N (default 100000)")
        ->check(tools::in_range(0))
        ->type_name("N");
    tools::parse_or_exit(app, argc, argv);

    tools::report_table t{"Dissemination: one 512-byte broadcast over HyParView (active 5, passive 30), "
                          "links 10-50 ms; bound = 1 payload per node",
                          {"engine", "nodes", "delivered %", "RMR", "LDH", "last ms", "random delivered %",
                           "random RMR", "x bound", "bytes/node", "overlay B/node", "form wall s", "bcast wall s",
                           "M events/s"}};
    tools::figures runs = tools::figures::array();
    for (std::size_t n : {1000u, 10000u, 100000u}) {
        if (n > max_nodes)
            break;
        run<sim_gossip_node>(t, runs, "plumtree", n);
        run<basic_node<push_policies>>(t, runs, "push gossip", n);
        run<basic_node<flood_policies>>(t, runs, "flooding", n);
    }
    tools::print_report({t}, {{"tool", "meshkit-bench-dissemination"}, {"runs", runs}}, json);
}

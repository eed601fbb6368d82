// meshkit-sim: runs a named scenario over the deterministic simulator and
// prints its figures as tables (or JSON). The same seed prints the same run.
//
//   meshkit-sim cluster [--nodes N] [--seed S] [--duration SECONDS] [--crash PERCENT] [--json]
//   meshkit-sim gossip  [--nodes N] [--seed S] [--crash PERCENT] [--json]
//   meshkit-sim gossip-first [--nodes N] [--seed S] [--nat-mix MIX] [--registry-down] [--json]

#include <common/report.hpp>

#include <meshkit/meshkit.hpp>
#include <meshkit/reference/gossip_first_scenario.hpp>
#include <meshkit/sim/cluster.hpp>

#include <algorithm>
#include <cmath>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <queue>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace meshkit;
using namespace std::chrono_literals;
using tools::fixed;
using tools::report_table;

struct options {
    std::string scenario = "cluster";
    std::size_t nodes = 1000;
    std::uint64_t seed = 1;
    double duration_s = 30;
    double crash_percent = 10;
    bool json = false;
    bool nodes_given = false;
    reference::nat_mix mix = reference::nat_mix::realistic();
    std::string mix_name = "realistic";
    bool registry_down = false;
};

[[noreturn]] void usage(char const* why)
{
    std::fprintf(stderr,
                 "meshkit-sim: %s\n"
                 "usage: meshkit-sim SCENARIO [--nodes N] [--seed S] [--duration SECONDS] [--crash PERCENT]\n"
                 "                   [--nat-mix MIX] [--registry-down] [--json]\n"
                 "  gossip-first (the default)\n"
                 "            --nodes (default 1000) nodes behind a NAT mix join through 5 public\n"
                 "            bootstrap nodes, learn each other by cache gossip, then each connects\n"
                 "            to 3 peers from its cache: direct, hole-punched or relayed. Prints the\n"
                 "            seed's KPIs beside its targets. MIX is realistic (default), residential,\n"
                 "            or shares such as open=0.5,symmetric=0.5; presets: open, full_cone,\n"
                 "            restricted_cone, port_restricted, symmetric, symmetric_seq, cgnat.\n"
                 "  cluster   N nodes on links of 10-50 ms join through three random earlier nodes,\n"
                 "            run liveness for --duration, then --crash percent of them die and the\n"
                 "            rest must age them out.\n"
                 "  gossip    N nodes form a HyParView overlay and broadcast with Plumtree from one\n"
                 "            sender, then from random senders; then --crash percent die at once and\n"
                 "            the survivors must repair and still deliver everything.\n",
                 why);
    std::exit(2);
}

template <class T>
T parse_number(std::string_view flag, char const* text)
{
    T v{};
    auto const* end = text + std::strlen(text);
    auto [p, ec] = std::from_chars(text, end, v);
    if (ec != std::errc{} || p != end)
        usage(("bad value for " + std::string(flag) + ": " + text).c_str());
    return v;
}

options parse(int argc, char** argv)
{
    options o;
    o.scenario = "gossip-first";
    int i = 1;
    if (i < argc && argv[i][0] != '-')
        o.scenario = argv[i++];
    for (; i < argc; ++i) {
        std::string_view a = argv[i];
        auto next = [&] {
            if (i + 1 >= argc)
                usage(("missing value after " + std::string(a)).c_str());
            return argv[++i];
        };
        if (a == "--nodes") { o.nodes = parse_number<std::size_t>(a, next()); o.nodes_given = true; }
        else if (a == "--seed") o.seed = parse_number<std::uint64_t>(a, next());
        else if (a == "--duration") o.duration_s = parse_number<double>(a, next());
        else if (a == "--crash") o.crash_percent = parse_number<double>(a, next());
        else if (a == "--json") o.json = true;
        else if (a == "--registry-down") o.registry_down = true;
        else if (a == "--nat-mix") {
            o.mix_name = next();
            auto m = reference::nat_mix::parse(o.mix_name);
            if (!m)
                usage(("bad --nat-mix " + o.mix_name).c_str());
            o.mix = *m;
        }
        else if (a == "--help" || a == "-h") usage("help");
        else usage(("unknown flag " + std::string(a)).c_str());
    }
    if (o.scenario != "cluster" && o.scenario != "gossip" && o.scenario != "gossip-first")
        usage(("unknown scenario " + o.scenario).c_str());
    if (o.nodes < 2)
        usage("--nodes must be at least 2");
    if (o.crash_percent < 0 || o.crash_percent >= 100)
        usage("--crash must be in [0, 100)");
    return o;
}

std::string hex64(std::uint64_t v)
{
    char buf[32];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
    return buf;
}

/// Links of 10-50 ms one way (drawn per pair) with up to 2 ms of jitter per datagram.
sim::link_model internet_like_link()
{
    sim::link_model link;
    link.latency = sim::latency_distribution::uniform(10ms, 50ms);
    link.jitter = 2ms;
    return link;
}

double percentile(std::vector<double> v, double p)
{
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    auto const idx = static_cast<std::size_t>(p / 100.0 * static_cast<double>(v.size() - 1) + 0.5);
    return v[std::min(idx, v.size() - 1)];
}

std::size_t components(std::vector<std::vector<std::size_t>> const& adj, std::vector<bool> const& alive)
{
    std::vector<bool> seen(adj.size());
    std::size_t count = 0;
    for (std::size_t i = 0; i < adj.size(); ++i) {
        if (seen[i] || !alive[i])
            continue;
        ++count;
        std::queue<std::size_t> q;
        q.push(i);
        seen[i] = true;
        while (!q.empty()) {
            auto v = q.front();
            q.pop();
            for (auto w : adj[v])
                if (!seen[w] && alive[w]) {
                    seen[w] = true;
                    q.push(w);
                }
        }
    }
    return count;
}

int run_cluster(options const& o)
{
    auto const wall_start = std::chrono::steady_clock::now();
    sim::network net{o.seed, internet_like_link()};

    std::vector<std::unique_ptr<sim_node>> nodes;
    nodes.reserve(o.nodes);
    for (std::size_t i = 0; i < o.nodes; ++i) {
        discovery::static_seeds seeds;
        for (int k = 0; k < 3 && i > 0; ++k)
            seeds.add(nodes[net.rng().below(i)]->local_endpoint());
        node_config cfg;
        cfg.seed = o.seed * 1'000'003 + i;
        nodes.push_back(std::make_unique<sim_node>(net, cfg, std::move(seeds)));
    }
    std::map<node_id, std::size_t> index;
    for (std::size_t i = 0; i < nodes.size(); ++i)
        index[nodes[i]->id()] = i;

    // Peer-down events tell how long failure detection took.
    std::vector<bool> alive(o.nodes, true);
    std::vector<double> detection_s;
    time_point crash_time{};
    for (auto& n : nodes) {
        n->on_event([&](sim_node::event_type const& ev) {
            if (auto const* d = std::get_if<peer_down>(&ev); d && !alive[index.at(d->id)])
                detection_s.push_back(std::chrono::duration<double>(net.now() - crash_time).count());
        });
        n->start();
    }
    auto const run_for = std::chrono::duration_cast<duration>(std::chrono::duration<double>(o.duration_s));
    net.advance(run_for);

    // -- phase 1: the formed mesh --------------------------------------------
    std::vector<std::vector<std::size_t>> adj(o.nodes);
    std::vector<double> degree, rtt_ms, rtt_error_ms;
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        auto const& sessions = nodes[i]->engine<membership::liveness>().sessions();
        degree.push_back(static_cast<double>(sessions.size()));
        sessions.for_each([&](membership::session const& s) {
            adj[i].push_back(index.at(s.id));
            if (s.rtt.samples() == 0)
                return;
            double const measured = std::chrono::duration<double, std::milli>(s.rtt.smoothed()).count();
            double const truth =
                2 * std::chrono::duration<double, std::milli>(net.link_latency(nodes[i]->local_endpoint(), s.address)).count();
            rtt_ms.push_back(measured);
            rtt_error_ms.push_back(std::abs(measured - truth));
        });
    }
    std::uint64_t dgrams = 0, bytes = 0, decode_errors = 0;
    for (auto const& n : nodes) {
        dgrams += n->stats().datagrams_sent;
        bytes += n->stats().bytes_sent;
        decode_errors += n->stats().decode_errors;
    }
    double const per_node = 1.0 / static_cast<double>(o.nodes);
    std::size_t const comps = components(adj, alive);

    report_table membership_table{"Membership after " + fixed(o.duration_s, 0) + " s (" + std::to_string(o.nodes) +
                                      " nodes, seed " + std::to_string(o.seed) + ")",
                                  {"metric", "value"}};
    membership_table.add_row({"nodes", std::to_string(o.nodes)});
    membership_table.add_row({"peers per node (min)", fixed(*std::min_element(degree.begin(), degree.end()), 0)});
    double degree_sum = 0;
    for (double d : degree)
        degree_sum += d;
    membership_table.add_row({"peers per node (mean)", fixed(degree_sum / static_cast<double>(degree.size()), 2)});
    membership_table.add_row({"peers per node (max)", fixed(*std::max_element(degree.begin(), degree.end()), 0)});
    membership_table.add_row({"connected components", std::to_string(comps)});

    report_table rtt_table{"Round-trip times measured by liveness (links 10-50 ms one way, 0-2 ms jitter)", {"metric", "ms"}};
    rtt_table.add_row({"RTT p50", fixed(percentile(rtt_ms, 50), 2)});
    rtt_table.add_row({"RTT p99", fixed(percentile(rtt_ms, 99), 2)});
    rtt_table.add_row({"|RTT - true RTT| p50", fixed(percentile(rtt_error_ms, 50), 3)});
    rtt_table.add_row({"|RTT - true RTT| max", fixed(percentile(rtt_error_ms, 100), 3)});

    report_table traffic_table{"Traffic per node over " + fixed(o.duration_s, 0) + " s", {"metric", "value"}};
    traffic_table.add_row({"datagrams sent per node", fixed(static_cast<double>(dgrams) * per_node, 1)});
    traffic_table.add_row({"bytes sent per node", fixed(static_cast<double>(bytes) * per_node, 0)});
    traffic_table.add_row({"bytes per node per second", fixed(static_cast<double>(bytes) * per_node / o.duration_s, 0)});
    traffic_table.add_row({"decode errors (all nodes)", std::to_string(decode_errors)});

    // -- phase 2: crash a share of the nodes; the rest must age them out ------
    std::size_t const to_crash = static_cast<std::size_t>(static_cast<double>(o.nodes) * o.crash_percent / 100.0);
    crash_time = net.now();
    for (std::size_t k = 0; k < to_crash; ++k) {
        std::size_t victim;
        do
            victim = static_cast<std::size_t>(net.rng().below(o.nodes));
        while (!alive[victim]);
        alive[victim] = false;
        net.crash(nodes[victim]->local_endpoint());
    }
    auto const timeout = nodes.front()->config().liveness.session_timeout;
    net.advance(timeout + 2 * nodes.front()->config().liveness.ping_interval);
    std::size_t stale = 0;
    std::vector<std::vector<std::size_t>> adj_after(o.nodes);
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        if (!alive[i])
            continue;
        nodes[i]->engine<membership::liveness>().sessions().for_each([&](membership::session const& s) {
            auto const j = index.at(s.id);
            stale += !alive[j];
            adj_after[i].push_back(j);
        });
    }
    report_table failure_table{"Failure detection: " + std::to_string(to_crash) + " nodes crashed at once",
                               {"metric", "value"}};
    failure_table.add_row({"session timeout (s)", fixed(std::chrono::duration<double>(timeout).count(), 1)});
    failure_table.add_row({"sessions aged out", std::to_string(detection_s.size())});
    failure_table.add_row({"detection time p50 (s)", fixed(percentile(detection_s, 50), 2)});
    failure_table.add_row({"detection time max (s)", fixed(percentile(detection_s, 100), 2)});
    failure_table.add_row({"stale sessions left", std::to_string(stale)});
    failure_table.add_row({"components among survivors", std::to_string(components(adj_after, alive))});

    double const wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
    report_table sim_table{"Simulator", {"metric", "value"}};
    sim_table.add_row({"simulated time (s)", fixed(std::chrono::duration<double>(net.now().time_since_epoch()).count(), 1)});
    sim_table.add_row({"events", std::to_string(net.stats().events)});
    sim_table.add_row({"wall time (s)", fixed(wall, 2)});
    sim_table.add_row({"events per second", fixed(static_cast<double>(net.stats().events) / wall, 0)});
    sim_table.add_row({"trace hash", hex64(net.trace_hash())});

    tools::print_report("meshkit-sim cluster", {membership_table, rtt_table, traffic_table, failure_table, sim_table},
                        o.json);
    // The demo fails loudly if the mesh it reports on is broken.
    return comps == 1 && stale == 0 ? 0 : 1;
}

int run_gossip(options const& o)
{
    auto const wall_start = std::chrono::steady_clock::now();
    sim::network net{o.seed, internet_like_link()};
    sim::cluster<sim_gossip_node>::options co;
    co.nodes = o.nodes;
    co.config.seed = o.seed;
    co.join_spacing = std::min<duration>(10ms, std::chrono::duration_cast<duration>(10s) / static_cast<long>(o.nodes));
    sim::cluster<sim_gossip_node> c{net, co};
    c.start_all();
    net.advance(20s);

    std::vector<std::byte> const payload(256, std::byte{0x6d});
    report_table table{"Plumtree over HyParView, " + std::to_string(o.nodes) + " nodes, seed " + std::to_string(o.seed) +
                           " (links 10-50 ms; bound: 1 payload per node)",
                       {"phase", "broadcasts", "delivered %", "mean RMR", "worst LDH", "mean last delivery ms"}};
    auto phase = [&](std::string const& name, int count, bool random_sender) {
        std::size_t delivered = 0, receivers = 0, ldh = 0;
        double rmr = 0, last_ms = 0;
        for (int i = 0; i < count; ++i) {
            auto const r = c.broadcast_from(random_sender ? c.random_live() : c.live_indices().front(), payload);
            delivered += r.delivered;
            receivers += r.receivers;
            rmr += r.rmr / count;
            ldh = std::max(ldh, r.last_delivery_hop);
            last_ms += std::chrono::duration<double, std::milli>(r.last_delivery_time).count() / count;
        }
        table.add_row({name, std::to_string(count),
                       fixed(100.0 * static_cast<double>(delivered) / static_cast<double>(receivers), 3), fixed(rmr, 3),
                       std::to_string(ldh), fixed(last_ms, 0)});
        return delivered == receivers;
    };
    bool ok = phase("first broadcasts (tree forming)", 3, false);
    ok = phase("single sender, tree formed", 10, false) && ok;
    ok = phase("random senders", 20, true) && ok;
    c.crash_fraction(o.crash_percent / 100.0, c.live_indices().front());
    net.advance(30s);
    ok = phase("after " + fixed(o.crash_percent, 0) + " % crashed at once (30 s repair)", 10, true) && ok;

    std::uint64_t bytes = 0;
    std::size_t state = 0;
    for (auto i : c.live_indices()) {
        bytes += c.node(i).stats().bytes_sent;
        state += c.node(i).engine<membership::hyparview>().state_bytes() + c.node(i).broadcaster().tree_state_bytes();
    }
    double const wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
    double const live = static_cast<double>(c.live_indices().size());
    report_table sim_table{"Overlay and simulator", {"metric", "value"}};
    sim_table.add_row({"overlay state per node (bytes)", fixed(static_cast<double>(state) / live, 0)});
    sim_table.add_row({"bytes sent per live node per second",
                       fixed(static_cast<double>(bytes) / live / std::chrono::duration<double>(net.now().time_since_epoch()).count(), 0)});
    sim_table.add_row({"simulated time (s)", fixed(std::chrono::duration<double>(net.now().time_since_epoch()).count(), 1)});
    sim_table.add_row({"events", std::to_string(net.stats().events)});
    sim_table.add_row({"wall time (s)", fixed(wall, 2)});
    sim_table.add_row({"trace hash", hex64(net.trace_hash())});
    tools::print_report("meshkit-sim gossip", {table, sim_table}, o.json);
    return ok ? 0 : 1;
}

std::string ms(duration d)
{
    return fixed(std::chrono::duration<double, std::milli>(d).count(), 0) + " ms";
}

int run_gossip_first(options const& o)
{
    auto const wall_start = std::chrono::steady_clock::now();
    reference::gossip_first_options go;
    go.nodes = o.nodes;
    go.seed = o.seed;
    go.mix = o.mix;
    go.registry_down = o.registry_down;
    auto const r = reference::run_gossip_first(go);
    double const wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();

    auto const n = r.attempts.size();
    auto pct = [&](std::size_t k, std::size_t of) { return fixed(r.rate(k, of), 1) + " %"; };
    bool const connectivity_ok = r.rate(r.connected, n) >= 99.0;
    bool const direct_ok = r.rate(r.direct, r.connected) >= 60.0;
    bool const punched_ok = r.rate(r.punched, r.connected) >= 35.0;
    bool const relayed_ok = r.rate(r.relayed, r.connected) < 5.0;
    bool const time_ok = r.p95_connect < 5s;
    bool const cache_ok = r.cache_propagation >= 100.0 - 1e-9;
    auto mark = [](bool ok) { return std::string(ok ? "met" : "MISSED"); };

    report_table kpi{"Gossip-first KPIs: " + std::to_string(o.nodes) + " nodes, NAT mix " + o.mix_name + " (" +
                         o.mix.describe() + "), seed " + std::to_string(o.seed),
                     {"KPI", "measured", "seed's target", ""}};
    kpi.add_row({"connectivity rate", pct(r.connected, n) + " (" + std::to_string(r.connected) + "/" + std::to_string(n) + ")",
                 "99 %+", mark(connectivity_ok)});
    kpi.add_row({"direct", pct(r.direct, r.connected), "60 %+", mark(direct_ok)});
    kpi.add_row({"hole-punched", pct(r.punched, r.connected), "35 %+", mark(punched_ok)});
    kpi.add_row({"relayed", pct(r.relayed, r.connected), "< 5 %", mark(relayed_ok)});
    kpi.add_row({"time to connect (median, p95)", ms(r.median_connect) + ", " + ms(r.p95_connect), "< 5 s", mark(time_ok)});
    kpi.add_row({"cache propagation", fixed(r.cache_propagation, 2) + " % (" + std::to_string(r.complete_caches) + "/" +
                                          std::to_string(r.population) + " complete)",
                 "100 %", mark(cache_ok)});

    report_table more{"Behind the figures", {"metric", "value"}};
    more.add_row({"cache propagation when connecting started", fixed(r.cache_propagation_at_connect, 2) + " %"});
    more.add_row({"first message delivered over each connection", pct(r.messages_delivered, n)});
    more.add_row({"bytes forwarded by relays", std::to_string(r.relayed_bytes)});
    more.add_row({"relayed at first, upgraded later (counted by final method)", std::to_string(r.upgraded)});
    more.add_row({"registry", o.registry_down ? std::string("down all run (discovery never uses it)")
                                              : std::to_string(r.registry_reports) + " connection reports received of " +
                                                    std::to_string(r.reports_sent) + " sent"});
    more.add_row({"simulated time (s)", fixed(std::chrono::duration<double>(r.simulated).count(), 1)});
    more.add_row({"events", std::to_string(r.events)});
    more.add_row({"wall time (s)", fixed(wall, 2)});
    more.add_row({"trace hash", hex64(r.trace_hash)});

    // Method by NAT pair: what the ladder chose for each combination.
    using reference::nat_preset;
    std::map<std::pair<int, int>, std::array<std::size_t, 4>> pairs;
    for (auto const& a : r.attempts) {
        int const x = static_cast<int>(a.from_nat), y = static_cast<int>(a.to_nat);
        auto& c = pairs[{std::min(x, y), std::max(x, y)}];
        ++c[a.connected ? static_cast<std::size_t>(a.method) : 0];
    }
    report_table matrix{"Method by NAT pair (either direction)", {"pair", "attempts", "direct", "punched", "relayed", "failed"}};
    for (auto const& [k, c] : pairs)
        matrix.add_row({std::string(reference::to_string(static_cast<nat_preset>(k.first))) + " x " +
                            reference::to_string(static_cast<nat_preset>(k.second)),
                        std::to_string(c[0] + c[1] + c[2] + c[3]), std::to_string(c[1]), std::to_string(c[2]),
                        std::to_string(c[3]), std::to_string(c[0])});
    tools::print_report("meshkit-sim gossip-first", {kpi, more, matrix}, o.json);
    return connectivity_ok && cache_ok ? 0 : 1;
}

} // namespace

int main(int argc, char** argv)
{
    options const o = parse(argc, argv);
    if (o.scenario == "gossip-first")
        return run_gossip_first(o);
    return o.scenario == "gossip" ? run_gossip(o) : run_cluster(o);
}

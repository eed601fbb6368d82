// meshkit-sim: runs a named scenario over the deterministic simulator and
// prints its figures as tables (or JSON). The same seed prints the same run.
//
//   meshkit-sim cluster [--nodes N] [--seed S] [--duration SECONDS] [--crash PERCENT] [--json]
//   meshkit-sim gossip  [--nodes N] [--seed S] [--crash PERCENT] [--json]
//   meshkit-sim gossip-first [--nodes N] [--seed S] [--nat-mix MIX] [--registry-down] [--security MODE] [--json]
//   meshkit-sim substrate [--substrates S] [--transients T] [--enclaves E] [--seed S] [--minutes M] [--no-drift] [--json]
//   meshkit-sim hierarchy [--nodes N] [--seed S] [--strategy static|dynamic|hybrid] [--no-baseline] [--json]

#include <common/cli.hpp>
#include <common/report.hpp>
#include <meshkit_sim/gossip_first_scenario.hpp>
#include <meshkit_sim/hierarchy_scenario.hpp>
#include <meshkit_sim/substrate_scenario.hpp>

#include <meshkit/meshkit.hpp>
#include <meshkit/sim/cluster.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <queue>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace meshkit;
using namespace std::chrono_literals;
using tools::figures;
using tools::fixed;
using tools::report_table;

struct options {
    std::string scenario = "gossip-first";
    std::size_t nodes = 1000;
    std::uint64_t seed = 1;
    double duration_s = 30;
    double crash_percent = 10;
    bool json = false;
    tools::nat_mix mix = tools::nat_mix::realistic();
    std::string mix_name = "realistic";
    bool registry_down = false;
    /// gossip-first: secure, insecure, or both (secure first, then the same run without it, side by side).
    std::string security = "both";
    tools::substrate_options substrate;
    double substrate_minutes = 20;
    tools::hierarchy_options hierarchy;
};

options parse(int argc, char** argv)
{
    options o;
    CLI::App app{"meshkit-sim: runs a named scenario over the deterministic simulator and prints its figures as "
                 "tables (or JSON). The same seed prints the same run.",
                 "meshkit-sim"};
    app.footer("Scenarios:\n"
               "  gossip-first (the default)\n"
               "            --nodes nodes behind a NAT mix join through 5 public bootstrap nodes, learn each\n"
               "            other by cache gossip, then each connects to 3 peers from its cache: direct,\n"
               "            hole-punched or relayed. Prints the seed's KPIs beside its targets. MIX is\n"
               "            realistic (default), residential, or shares such as open=0.5,symmetric=0.5;\n"
               "            presets: open, full_cone, restricted_cone, port_restricted, symmetric,\n"
               "            symmetric_seq, cgnat.\n"
               "  substrate S substrates (default 50) in one mesh across E enclaves (5), T transients (2,000)\n"
               "            each given one substrate at random that choose their own by RTT; latency\n"
               "            drifts, datagrams jitter, 3 substrates crash and 3 shut down during the run\n"
               "            while 25 nodes publish; prints delivery, loss, duplicates, migrations, flaps,\n"
               "            re-attach times and the chosen substrate's RTT against the best.\n"
               "  hierarchy --nodes nodes (default 1,000) in companies, platoons, squads and platforms\n"
               "            spread over a map (four levels), beaconing over radio nets; every node reports\n"
               "            telemetry every 5 s, folded upward by leaders; squad and platoon leaders are\n"
               "            killed, a region is cut off for 60 s, positions jitter. Prints formation,\n"
               "            re-homing, loss, the partition and what aggregation saves, beside targets.\n"
               "  cluster   N nodes on links of 10-50 ms join through three random earlier nodes, run\n"
               "            liveness for --duration, then --crash percent of them die and the rest must\n"
               "            age them out.\n"
               "  gossip    N nodes form a HyParView overlay and broadcast with Plumtree from one sender,\n"
               "            then from random senders; then --crash percent die at once and the survivors\n"
               "            must repair and still deliver everything.\n"
               "Exit status: 0 when the scenario's own checks pass, 1 when they do not, 2 for a bad\n"
               "command line. See docs/simulator.md and docs/reference/gossip-first.md.");
    app.add_option("scenario", o.scenario, "gossip-first (the default), substrate, hierarchy, cluster or gossip")
        ->check(CLI::IsMember({"gossip-first", "substrate", "hierarchy", "cluster", "gossip"}))
        ->type_name("SCENARIO");
    app.add_option("--nodes", o.nodes, "Nodes (default 1000)")->check(tools::in_range(2))->type_name("N");
    app.add_option("--seed", o.seed, "Fixes the whole run (default 1)")->check(tools::in_range(0))->type_name("S");
    app.add_option("--duration", o.duration_s, "(cluster) Seconds of liveness before the crash (default 30)")
        ->check(tools::in_range(0))
        ->type_name("SECONDS");
    app.add_option("--crash", o.crash_percent, "(cluster, gossip) Share of the nodes that crash at once (default 10)")
        ->check(tools::in_range(0, 100))
        ->type_name("PERCENT");
    app.add_option_function<std::string>(
           "--nat-mix",
           [&](std::string const& name) {
               o.mix_name = name;
               o.mix = *tools::nat_mix::parse(name);
           },
           "(gossip-first) The NATs the nodes sit behind (default realistic)")
        ->check(tools::parses_as<tools::nat_mix>("MIX"))
        ->type_name("MIX");
    app.add_flag("--registry-down", o.registry_down,
                 "(gossip-first) The registry's host is down all run (discovery never uses it)");
    app.add_option("--security", o.security,
                   "(gossip-first) secure (Noise sessions, ids are keys), insecure, or both (default: both, side by "
                   "side; the other tables are the secure run's)")
        ->check(CLI::IsMember({"secure", "insecure", "both"}))
        ->type_name("MODE");
    app.add_option("--substrates", o.substrate.substrates, "(substrate) Substrate nodes (default 50)")
        ->check(tools::in_range(1))
        ->type_name("S");
    app.add_option("--transients", o.substrate.transients, "(substrate) Transient nodes (default 2000)")
        ->check(tools::in_range(1))
        ->type_name("T");
    app.add_option("--enclaves", o.substrate.enclaves, "(substrate) Enclaves (default 5)")
        ->check(tools::in_range(1))
        ->type_name("E");
    app.add_option("--minutes", o.substrate_minutes, "(substrate) Minutes of publishing and failures (default 20)")
        ->check(tools::in_range(1))
        ->type_name("M");
    app.add_flag("--no-drift", [&](std::int64_t) { o.substrate.drift = false; },
                 "(substrate) Latency stays put: only jitter varies it");
    app.add_option("--strategy", o.hierarchy.strategy, "(hierarchy) static, dynamic (default) or hybrid")
        ->check(CLI::IsMember({"static", "dynamic", "hybrid"}))
        ->type_name("STRATEGY");
    app.add_flag("--no-baseline", [&](std::int64_t) { o.hierarchy.baseline = false; },
                 "(hierarchy) Skip the run without aggregation that the byte saving is measured against");
    app.add_flag("--json", o.json, "Print the figures as JSON instead of tables");
    tools::parse_or_exit(app, argc, argv);
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
    double const degree_min = *std::min_element(degree.begin(), degree.end());
    double const degree_max = *std::max_element(degree.begin(), degree.end());
    double degree_sum = 0;
    for (double d : degree)
        degree_sum += d;
    double const degree_mean = degree_sum / static_cast<double>(degree.size());
    double const datagrams_per_node = static_cast<double>(dgrams) * per_node;
    double const bytes_per_node = static_cast<double>(bytes) * per_node;

    report_table membership_table{"Membership after " + fixed(o.duration_s, 0) + " s (" + std::to_string(o.nodes) +
                                      " nodes, seed " + std::to_string(o.seed) + ")",
                                  {"metric", "value"}};
    membership_table.add_row({"nodes", std::to_string(o.nodes)});
    membership_table.add_row({"peers per node (min)", fixed(degree_min, 0)});
    membership_table.add_row({"peers per node (mean)", fixed(degree_mean, 2)});
    membership_table.add_row({"peers per node (max)", fixed(degree_max, 0)});
    membership_table.add_row({"connected components", std::to_string(comps)});

    report_table rtt_table{"Round-trip times measured by liveness (links 10-50 ms one way, 0-2 ms jitter)", {"metric", "ms"}};
    rtt_table.add_row({"RTT p50", fixed(percentile(rtt_ms, 50), 2)});
    rtt_table.add_row({"RTT p99", fixed(percentile(rtt_ms, 99), 2)});
    rtt_table.add_row({"|RTT - true RTT| p50", fixed(percentile(rtt_error_ms, 50), 3)});
    rtt_table.add_row({"|RTT - true RTT| max", fixed(percentile(rtt_error_ms, 100), 3)});

    report_table traffic_table{"Traffic per node over " + fixed(o.duration_s, 0) + " s", {"metric", "value"}};
    traffic_table.add_row({"datagrams sent per node", fixed(datagrams_per_node, 1)});
    traffic_table.add_row({"bytes sent per node", fixed(bytes_per_node, 0)});
    traffic_table.add_row({"bytes per node per second", fixed(bytes_per_node / o.duration_s, 0)});
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
    auto const timeout = nodes.front()->config().engine<membership::liveness>().session_timeout;
    net.advance(timeout + 2 * nodes.front()->config().engine<membership::liveness>().ping_interval);
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
    double const timeout_s = std::chrono::duration<double>(timeout).count();
    std::size_t const survivor_components = components(adj_after, alive);
    report_table failure_table{"Failure detection: " + std::to_string(to_crash) + " nodes crashed at once",
                               {"metric", "value"}};
    failure_table.add_row({"session timeout (s)", fixed(timeout_s, 1)});
    failure_table.add_row({"sessions aged out", std::to_string(detection_s.size())});
    failure_table.add_row({"detection time p50 (s)", fixed(percentile(detection_s, 50), 2)});
    failure_table.add_row({"detection time max (s)", fixed(percentile(detection_s, 100), 2)});
    failure_table.add_row({"stale sessions left", std::to_string(stale)});
    failure_table.add_row({"components among survivors", std::to_string(survivor_components)});

    double const wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
    double const simulated_s = std::chrono::duration<double>(net.now().time_since_epoch()).count();
    double const events_per_s = static_cast<double>(net.stats().events) / wall;
    report_table sim_table{"Simulator", {"metric", "value"}};
    sim_table.add_row({"simulated time (s)", fixed(simulated_s, 1)});
    sim_table.add_row({"events", std::to_string(net.stats().events)});
    sim_table.add_row({"wall time (s)", fixed(wall, 2)});
    sim_table.add_row({"events per second", fixed(events_per_s, 0)});
    sim_table.add_row({"trace hash", hex64(net.trace_hash())});

    figures const numbers{
        {"tool", "meshkit-sim"},
        {"scenario", "cluster"},
        {"nodes", o.nodes},
        {"seed", o.seed},
        {"duration_s", o.duration_s},
        {"crash_percent", o.crash_percent},
        {"peers_per_node_min", degree_min},
        {"peers_per_node_mean", degree_mean},
        {"peers_per_node_max", degree_max},
        {"connected_components", comps},
        {"rtt_ms_p50", percentile(rtt_ms, 50)},
        {"rtt_ms_p99", percentile(rtt_ms, 99)},
        {"rtt_error_ms_p50", percentile(rtt_error_ms, 50)},
        {"rtt_error_ms_max", percentile(rtt_error_ms, 100)},
        {"datagrams_sent_per_node", datagrams_per_node},
        {"bytes_sent_per_node", bytes_per_node},
        {"bytes_sent_per_node_per_s", bytes_per_node / o.duration_s},
        {"decode_errors", decode_errors},
        {"crashed_nodes", to_crash},
        {"session_timeout_s", timeout_s},
        {"sessions_aged_out", detection_s.size()},
        {"detection_time_s_p50", percentile(detection_s, 50)},
        {"detection_time_s_max", percentile(detection_s, 100)},
        {"stale_sessions", stale},
        {"components_among_survivors", survivor_components},
        {"simulated_time_s", simulated_s},
        {"events", net.stats().events},
        {"wall_time_s", wall},
        {"events_per_s", events_per_s},
        {"trace_hash", hex64(net.trace_hash())},
    };
    tools::print_report({membership_table, rtt_table, traffic_table, failure_table, sim_table}, numbers, o.json);
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
    figures phases = figures::array();
    // `id` names the phase in JSON, `name` in the table.
    auto phase = [&](std::string const& id, std::string const& name, int count, bool random_sender) {
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
        double const delivered_percent = 100.0 * static_cast<double>(delivered) / static_cast<double>(receivers);
        table.add_row({name, std::to_string(count), fixed(delivered_percent, 3), fixed(rmr, 3), std::to_string(ldh),
                       fixed(last_ms, 0)});
        phases.push_back({{"phase", id},
                          {"broadcasts", count},
                          {"delivered_percent", delivered_percent},
                          {"rmr_mean", rmr},
                          {"ldh_hops_max", ldh},
                          {"last_delivery_ms_mean", last_ms}});
        return delivered == receivers;
    };
    bool ok = phase("tree_forming", "first broadcasts (tree forming)", 3, false);
    ok = phase("tree_formed", "single sender, tree formed", 10, false) && ok;
    ok = phase("random_senders", "random senders", 20, true) && ok;
    c.crash_fraction(o.crash_percent / 100.0, c.live_indices().front());
    net.advance(30s);
    ok = phase("after_crash", "after " + fixed(o.crash_percent, 0) + " % crashed at once (30 s repair)", 10, true) && ok;

    std::uint64_t bytes = 0;
    std::size_t state = 0;
    for (auto i : c.live_indices()) {
        bytes += c.node(i).stats().bytes_sent;
        state += c.node(i).engine<membership::hyparview>().state_bytes() + c.node(i).broadcaster().tree_state_bytes();
    }
    double const wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
    double const live = static_cast<double>(c.live_indices().size());
    double const simulated_s = std::chrono::duration<double>(net.now().time_since_epoch()).count();
    double const state_per_node = static_cast<double>(state) / live;
    double const bytes_per_node_per_s = static_cast<double>(bytes) / live / simulated_s;
    report_table sim_table{"Overlay and simulator", {"metric", "value"}};
    sim_table.add_row({"overlay state per node (bytes)", fixed(state_per_node, 0)});
    sim_table.add_row({"bytes sent per live node per second", fixed(bytes_per_node_per_s, 0)});
    sim_table.add_row({"simulated time (s)", fixed(simulated_s, 1)});
    sim_table.add_row({"events", std::to_string(net.stats().events)});
    sim_table.add_row({"wall time (s)", fixed(wall, 2)});
    sim_table.add_row({"trace hash", hex64(net.trace_hash())});

    figures const numbers{
        {"tool", "meshkit-sim"},
        {"scenario", "gossip"},
        {"nodes", o.nodes},
        {"seed", o.seed},
        {"crash_percent", o.crash_percent},
        {"phases", phases},
        {"overlay_state_bytes_per_node", state_per_node},
        {"bytes_sent_per_live_node_per_s", bytes_per_node_per_s},
        {"simulated_time_s", simulated_s},
        {"events", net.stats().events},
        {"wall_time_s", wall},
        {"trace_hash", hex64(net.trace_hash())},
    };
    tools::print_report({table, sim_table}, numbers, o.json);
    return ok ? 0 : 1;
}

double ms_of(duration d)
{
    return std::chrono::duration<double, std::milli>(d).count();
}

// The seed's targets: the KPIs the gossip-first node must reach.
constexpr double connectivity_target_percent = 99;
constexpr double direct_target_percent = 60;
constexpr double punched_target_percent = 35;
constexpr double relayed_limit_percent = 5; // relayed stays below this
constexpr double time_to_connect_limit_ms = 5000; // the p95 stays below this
constexpr double cache_propagation_target_percent = 100;

int run_gossip_first(options const& o)
{
    auto const wall_start = std::chrono::steady_clock::now();
    tools::gossip_first_options go;
    go.nodes = o.nodes;
    go.seed = o.seed;
    go.mix = o.mix;
    go.registry_down = o.registry_down;
    bool const secure = o.security != "insecure";
    auto const r = secure ? tools::run_gossip_first<reference::secure_gossip_first_node, reference::secure_registry_node>(go)
                          : tools::run_gossip_first(go);
    double const wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
    std::optional<tools::gossip_first_result> plain;
    if (o.security == "both")
        plain = tools::run_gossip_first(go);

    auto const n = r.attempts.size();
    double const connectivity = r.rate(r.connected, n);
    double const direct = r.rate(r.direct, r.connected);
    double const punched = r.rate(r.punched, r.connected);
    double const relayed = r.rate(r.relayed, r.connected);
    double const median_ms = ms_of(r.median_connect), p95_ms = ms_of(r.p95_connect);
    bool const connectivity_ok = connectivity >= connectivity_target_percent;
    bool const direct_ok = direct >= direct_target_percent;
    bool const punched_ok = punched >= punched_target_percent;
    bool const relayed_ok = relayed < relayed_limit_percent;
    bool const time_ok = p95_ms < time_to_connect_limit_ms;
    bool const cache_ok = r.cache_propagation >= cache_propagation_target_percent - 1e-9;
    auto mark = [](bool ok) { return std::string(ok ? "met" : "MISSED"); };
    auto percent = [](double v) { return fixed(v, 1) + " %"; };

    report_table kpi{"Gossip-first KPIs: " + std::to_string(o.nodes) + " nodes, NAT mix " + o.mix_name + " (" +
                         o.mix.describe() + "), seed " + std::to_string(o.seed) +
                         (secure ? ", secure transport on" : ", secure transport off"),
                     {"KPI", "measured", "seed's target", ""}};
    kpi.add_row({"connectivity rate",
                 percent(connectivity) + " (" + std::to_string(r.connected) + "/" + std::to_string(n) + ")",
                 fixed(connectivity_target_percent, 0) + " %+", mark(connectivity_ok)});
    kpi.add_row({"direct", percent(direct), fixed(direct_target_percent, 0) + " %+", mark(direct_ok)});
    kpi.add_row({"hole-punched", percent(punched), fixed(punched_target_percent, 0) + " %+", mark(punched_ok)});
    kpi.add_row({"relayed", percent(relayed), "< " + fixed(relayed_limit_percent, 0) + " %", mark(relayed_ok)});
    // The split between direct and punched follows the mix (a mesh of home
    // NATs has few direct paths to offer); their sum is what any mix must reach.
    kpi.add_row({"direct + punched (the split depends on the mix)", percent(direct + punched),
                 fixed(direct_target_percent + punched_target_percent, 0) + " %+",
                 mark(direct + punched >= direct_target_percent + punched_target_percent)});
    kpi.add_row({"time to connect (median, p95)", fixed(median_ms, 0) + " ms, " + fixed(p95_ms, 0) + " ms",
                 "< " + fixed(time_to_connect_limit_ms / 1000, 0) + " s", mark(time_ok)});
    kpi.add_row({"cache propagation", fixed(r.cache_propagation, 2) + " % (" + std::to_string(r.complete_caches) + "/" +
                                          std::to_string(r.population) + " complete)",
                 fixed(cache_propagation_target_percent, 0) + " %", mark(cache_ok)});

    double const first_message_delivered = r.rate(r.messages_delivered, n);
    double const simulated_s = std::chrono::duration<double>(r.simulated).count();
    report_table more{"Behind the figures", {"metric", "value"}};
    more.add_row({"cache propagation when connecting started", fixed(r.cache_propagation_at_connect, 2) + " %"});
    more.add_row({"first message delivered over each connection", percent(first_message_delivered)});
    more.add_row({"bytes forwarded by relays", std::to_string(r.relayed_bytes)});
    more.add_row({"relayed at first, upgraded later (counted by final method)", std::to_string(r.upgraded)});
    more.add_row({"registry", o.registry_down ? std::string("down all run (discovery never uses it)")
                                              : std::to_string(r.registry_reports) + " connection reports received of " +
                                                    std::to_string(r.reports_sent) + " sent"});
    more.add_row({"simulated time (s)", fixed(simulated_s, 1)});
    more.add_row({"events", std::to_string(r.events)});
    more.add_row({"wall time (s)", fixed(wall, 2)});
    more.add_row({"trace hash", hex64(r.trace_hash)});

    // Method by NAT pair: what the ladder chose for each combination.
    using sim::nat_preset;
    std::map<std::pair<int, int>, std::array<std::size_t, 4>> pairs;
    for (auto const& a : r.attempts) {
        int const x = static_cast<int>(a.from_nat), y = static_cast<int>(a.to_nat);
        auto& c = pairs[{std::min(x, y), std::max(x, y)}];
        ++c[a.connected ? static_cast<std::size_t>(a.method) : 0];
    }
    report_table matrix{"Method by NAT pair (either direction)", {"pair", "attempts", "direct", "punched", "relayed", "failed"}};
    figures nat_pairs = figures::array();
    for (auto const& [k, c] : pairs) {
        auto const* first = sim::to_string(static_cast<nat_preset>(k.first));
        auto const* second = sim::to_string(static_cast<nat_preset>(k.second));
        std::size_t const attempts = c[0] + c[1] + c[2] + c[3];
        matrix.add_row({std::string(first) + " x " + second, std::to_string(attempts), std::to_string(c[1]),
                        std::to_string(c[2]), std::to_string(c[3]), std::to_string(c[0])});
        nat_pairs.push_back({{"nat_a", first},
                             {"nat_b", second},
                             {"attempts", attempts},
                             {"direct", c[1]},
                             {"punched", c[2]},
                             {"relayed", c[3]},
                             {"failed", c[0]}});
    }

    figures nat_mix_percent = figures::object();
    for (std::size_t i = 0; i < sim::nat_preset_count; ++i)
        nat_mix_percent[sim::to_string(static_cast<nat_preset>(i))] = 100 * o.mix.share[i];
    figures const numbers{
        {"tool", "meshkit-sim"},
        {"scenario", "gossip-first"},
        {"nodes", o.nodes},
        {"seed", o.seed},
        {"nat_mix", o.mix_name},
        {"nat_mix_percent", nat_mix_percent},
        {"registry_down", o.registry_down},
        {"connection_attempts", n},
        {"connections", r.connected},
        {"connectivity_percent", connectivity},
        {"direct_percent", direct},
        {"punched_percent", punched},
        {"relayed_percent", relayed},
        {"time_to_connect_ms_median", median_ms},
        {"time_to_connect_ms_p95", p95_ms},
        {"direct_plus_punched_percent", direct + punched},
        {"cache_propagation_percent", r.cache_propagation},
        {"complete_caches", r.complete_caches},
        {"population", r.population},
        {"targets",
         {{"connectivity_percent_min", connectivity_target_percent},
          {"direct_percent_min", direct_target_percent},
          {"punched_percent_min", punched_target_percent},
          {"relayed_percent_below", relayed_limit_percent},
          {"time_to_connect_ms_p95_below", time_to_connect_limit_ms},
          {"cache_propagation_percent_min", cache_propagation_target_percent}}},
        {"targets_met",
         {{"connectivity", connectivity_ok},
          {"direct", direct_ok},
          {"punched", punched_ok},
          {"relayed", relayed_ok},
          {"time_to_connect", time_ok},
          {"cache_propagation", cache_ok}}},
        {"cache_propagation_at_connect_percent", r.cache_propagation_at_connect},
        {"first_message_delivered_percent", first_message_delivered},
        {"relay_forwarded_bytes", r.relayed_bytes},
        {"upgraded_connections", r.upgraded},
        {"registry_reports_received", r.registry_reports},
        {"registry_reports_sent", r.reports_sent},
        {"simulated_time_s", simulated_s},
        {"events", r.events},
        {"wall_time_s", wall},
        {"trace_hash", hex64(r.trace_hash)},
        {"nat_pairs", nat_pairs},
    };
    // The same run without the secure transport, beside it: what Noise sessions cost the ladder.
    report_table compare{"Secure transport on and off (same seed, same mix)", {"KPI", "secure", "insecure", "seed's target"}};
    bool plain_ok = true;
    figures numbers_out = numbers;
    numbers_out["security"] = secure ? "secure" : "insecure";
    if (plain) {
        tools::gossip_first_result const& q = *plain;
        auto const qn = q.attempts.size();
        compare.add_row({"connectivity rate", percent(connectivity), percent(q.rate(q.connected, qn)),
                         fixed(connectivity_target_percent, 0) + " %+"});
        compare.add_row({"direct", percent(direct), percent(q.rate(q.direct, q.connected)),
                         fixed(direct_target_percent, 0) + " %+"});
        compare.add_row({"hole-punched", percent(punched), percent(q.rate(q.punched, q.connected)),
                         fixed(punched_target_percent, 0) + " %+"});
        compare.add_row({"relayed", percent(relayed), percent(q.rate(q.relayed, q.connected)),
                         "< " + fixed(relayed_limit_percent, 0) + " %"});
        compare.add_row({"time to connect (median, p95)", fixed(median_ms, 0) + " ms, " + fixed(p95_ms, 0) + " ms",
                         fixed(ms_of(q.median_connect), 0) + " ms, " + fixed(ms_of(q.p95_connect), 0) + " ms",
                         "< " + fixed(time_to_connect_limit_ms / 1000, 0) + " s"});
        compare.add_row({"cache propagation", fixed(r.cache_propagation, 2) + " %", fixed(q.cache_propagation, 2) + " %",
                         fixed(cache_propagation_target_percent, 0) + " %"});
        compare.add_row({"events", std::to_string(r.events), std::to_string(q.events), ""});
        plain_ok = q.rate(q.connected, qn) >= connectivity_target_percent &&
                   q.cache_propagation >= cache_propagation_target_percent - 1e-9;
        numbers_out["insecure"] = figures{
            {"connectivity_percent", q.rate(q.connected, qn)},
            {"direct_percent", q.rate(q.direct, q.connected)},
            {"punched_percent", q.rate(q.punched, q.connected)},
            {"relayed_percent", q.rate(q.relayed, q.connected)},
            {"time_to_connect_ms_median", ms_of(q.median_connect)},
            {"time_to_connect_ms_p95", ms_of(q.p95_connect)},
            {"cache_propagation_percent", q.cache_propagation},
            {"events", q.events},
            {"trace_hash", hex64(q.trace_hash)},
        };
    }
    if (plain)
        tools::print_report({kpi, compare, more, matrix}, numbers_out, o.json);
    else
        tools::print_report({kpi, more, matrix}, numbers_out, o.json);
    return connectivity_ok && cache_ok && plain_ok ? 0 : 1;
}

int run_substrate(options const& o)
{
    auto const wall_start = std::chrono::steady_clock::now();
    tools::substrate_options so = o.substrate;
    so.seed = o.seed;
    so.run = std::chrono::duration_cast<duration>(std::chrono::duration<double, std::ratio<60>>(o.substrate_minutes));
    auto r = tools::run_substrate(so);
    double const wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();

    double const delivered = r.owed ? 100.0 * static_cast<double>(r.delivered) / static_cast<double>(r.owed) : 0;
    double const goodbye_p50 = ms_of(tools::quantile(r.reattach_after_goodbye, 0.5));
    double const goodbye_p95 = ms_of(tools::quantile(r.reattach_after_goodbye, 0.95));
    double const crash_p50 = ms_of(tools::quantile(r.reattach_after_crash, 0.5));
    double const crash_p95 = ms_of(tools::quantile(r.reattach_after_crash, 0.95));
    double const ratio_median = tools::quantile(r.rtt_ratio, 0.5);
    double const ratio_p95 = tools::quantile(r.rtt_ratio, 0.95);
    bool const delivered_ok = r.owed > 0 && r.delivered == r.owed;
    bool const lost_ok = r.lost == 0;
    bool const dup_ok = r.duplicates == 0;
    // Hysteresis is there against jitter; with drift a path that really changes back may be followed back.
    bool const flaps_ok = so.drift || r.flaps == 0;
    bool const cap_ok = r.max_children_seen <= so.max_children;
    bool const reattached_ok = r.never_reattached == 0;
    bool const ratio_ok = ratio_median <= 1.25;
    auto mark = [](bool ok) { return std::string(ok ? "met" : "MISSED"); };

    report_table kpi{"Substrate/transient KPIs: " + std::to_string(so.substrates) + " substrates, " +
                         std::to_string(so.transients) + " transients, " + std::to_string(so.enclaves) +
                         " enclaves, " + fixed(o.substrate_minutes, 0) + " min, latency " +
                         (so.drift ? "drifting" : "fixed") + " + " + fixed(ms_of(so.jitter), 0) + " ms jitter, seed " +
                         std::to_string(o.seed),
                     {"KPI", "measured", "target", ""}};
    kpi.add_row({"broadcasts delivered to every live node",
                 fixed(delivered, 3) + " % (" + std::to_string(r.delivered) + "/" + std::to_string(r.owed) + ")",
                 "100 %", mark(delivered_ok)});
    kpi.add_row({"publications lost", std::to_string(r.lost) + " of " + std::to_string(r.publications), "0",
                 mark(lost_ok)});
    kpi.add_row({"duplicate deliveries to the application", std::to_string(r.duplicates), "0", mark(dup_ok)});
    kpi.add_row({"migrations (failed)", std::to_string(r.migrations) + " (" + std::to_string(r.migrations_failed) + ")",
                 "", ""});
    kpi.add_row({"flaps (a move reverted within 3 cycles)", std::to_string(r.flaps),
                 so.drift ? "0 under jitter alone (--no-drift)" : "0", so.drift ? "" : mark(flaps_ok)});
    kpi.add_row({"re-attach after a goodbye (p50, p95)",
                 fixed(goodbye_p50, 0) + " ms, " + fixed(goodbye_p95, 0) + " ms (" +
                     std::to_string(r.reattach_after_goodbye.size()) + " children)",
                 "< 1 s", mark(goodbye_p95 < 1000)});
    kpi.add_row({"re-attach after a crash (p50, p95)",
                 fixed(crash_p50, 0) + " ms, " + fixed(crash_p95, 0) + " ms (" +
                     std::to_string(r.reattach_after_crash.size()) + " children)",
                 "", ""});
    kpi.add_row({"children never re-attached", std::to_string(r.never_reattached), "0", mark(reattached_ok)});
    kpi.add_row({"chosen substrate's RTT / best same-enclave RTT with room (median, p95)",
                 fixed(ratio_median, 3) + ", " + fixed(ratio_p95, 3) + " (" + std::to_string(r.rtt_ratio.size()) +
                     " samples)",
                 "median <= 1.25", mark(ratio_ok)});
    kpi.add_row({"most children on one substrate", std::to_string(r.max_children_seen),
                 "<= " + std::to_string(so.max_children), mark(cap_ok)});

    report_table more{"Behind the figures", {"metric", "value"}};
    more.add_row({"publications", std::to_string(r.publications)});
    more.add_row({"substrates alive at the end", std::to_string(r.live_substrates)});
    more.add_row({"publications resent through a later attachment", std::to_string(r.publications_resent)});
    more.add_row({"publications resent to re-attaching children (catch-up)", std::to_string(r.caught_up)});
    more.add_row({"catch-ups that reached past the log", std::to_string(r.catch_up_incomplete)});
    more.add_row({"publications dropped from a full buffer", std::to_string(r.publications_dropped)});
    more.add_row({"detached rounds (every substrate known failed)", std::to_string(r.detached_rounds)});
    more.add_row({"simulated time (s)", fixed(std::chrono::duration<double>(r.simulated).count(), 1)});
    more.add_row({"events", std::to_string(r.events)});
    more.add_row({"wall time (s)", fixed(wall, 2)});
    more.add_row({"trace hash", hex64(r.trace_hash)});

    figures const numbers{
        {"tool", "meshkit-sim"},
        {"scenario", "substrate"},
        {"substrates", so.substrates},
        {"transients", so.transients},
        {"enclaves", so.enclaves},
        {"seed", o.seed},
        {"run_minutes", o.substrate_minutes},
        {"drift", so.drift},
        {"jitter_ms", ms_of(so.jitter)},
        {"publications", r.publications},
        {"delivered_percent", delivered},
        {"deliveries_owed", r.owed},
        {"deliveries", r.delivered},
        {"publications_lost", r.lost},
        {"duplicate_deliveries", r.duplicates},
        {"migrations", r.migrations},
        {"migrations_failed", r.migrations_failed},
        {"flaps", r.flaps},
        {"reattach_after_goodbye_ms_p50", goodbye_p50},
        {"reattach_after_goodbye_ms_p95", goodbye_p95},
        {"reattach_after_goodbye_children", r.reattach_after_goodbye.size()},
        {"reattach_after_crash_ms_p50", crash_p50},
        {"reattach_after_crash_ms_p95", crash_p95},
        {"reattach_after_crash_children", r.reattach_after_crash.size()},
        {"never_reattached", r.never_reattached},
        {"rtt_ratio_median", ratio_median},
        {"rtt_ratio_p95", ratio_p95},
        {"rtt_ratio_samples", r.rtt_ratio.size()},
        {"max_children_seen", r.max_children_seen},
        {"max_children", so.max_children},
        {"live_substrates", r.live_substrates},
        {"publications_resent", r.publications_resent},
        {"caught_up", r.caught_up},
        {"catch_up_incomplete", r.catch_up_incomplete},
        {"publications_dropped", r.publications_dropped},
        {"detached_rounds", r.detached_rounds},
        {"simulated_time_s", std::chrono::duration<double>(r.simulated).count()},
        {"events", r.events},
        {"wall_time_s", wall},
        {"trace_hash", hex64(r.trace_hash)},
        {"targets_met",
         {{"delivered", delivered_ok},
          {"lost", lost_ok},
          {"duplicates", dup_ok},
          {"flaps", flaps_ok},
          {"reattach_after_goodbye", goodbye_p95 < 1000},
          {"reattached", reattached_ok},
          {"rtt_ratio", ratio_ok},
          {"children_cap", cap_ok}}},
    };
    tools::print_report({kpi, more}, numbers, o.json);
    return delivered_ok && lost_ok && dup_ok && flaps_ok && cap_ok && reattached_ok && ratio_ok && goodbye_p95 < 1000
               ? 0
               : 1;
}

int run_hierarchy(options const& o)
{
    auto const wall_start = std::chrono::steady_clock::now();
    tools::hierarchy_options ho = o.hierarchy;
    ho.nodes = o.nodes;
    ho.seed = o.seed;
    auto r = tools::run_hierarchy(ho);
    double const wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
    auto mark = [](bool ok) { return std::string(ok ? "met" : "MISSED"); };
    auto seconds = [](duration d) { return std::chrono::duration<double>(d).count(); };

    double const formation_s = r.formation ? seconds(*r.formation) : -1;
    double const formation_target_s = 3 * seconds(r.beacon_interval);
    bool const formation_ok = r.formation && formation_s <= formation_target_s;
    double const rehome_p50 = seconds(tools::quantile(r.rehome, 0.5));
    double const rehome_max = r.rehome.empty() ? 0 : seconds(*std::max_element(r.rehome.begin(), r.rehome.end()));
    bool const rehome_ok = !r.rehome.empty() && rehome_max < 10 && r.never_rehomed == 0;
    bool const lost_ok = r.reported > 0 && r.lost == 0;
    bool const partition_ok = r.region_partition_detected > 0 && r.region_lost == 0 && r.one_hierarchy_after_heal;
    auto saving = [](std::uint64_t with, std::uint64_t without) {
        return without ? 100.0 * (1.0 - static_cast<double>(with) / static_cast<double>(without)) : 0.0;
    };
    double const saving_total = saving(r.bytes_aggregated, r.bytes_plain);
    double const saving_above = saving(r.bytes_aggregated_above_leaves, r.bytes_plain_above_leaves);
    double const saving_root = saving(r.root_bytes_aggregated, r.root_bytes_plain);
    bool const saving_ok = !ho.baseline || saving_above >= 90;
    bool const flaps_ok = r.flaps == 0;

    report_table kpi{"Hierarchical mesh KPIs: " + std::to_string(ho.nodes) + " nodes (" +
                         std::to_string(r.per_level[3]) + " / " + std::to_string(r.per_level[2]) + " / " +
                         std::to_string(r.per_level[1]) + " / " + std::to_string(r.per_level[0]) +
                         " at levels 3 / 2 / 1 / 0), " + ho.strategy + " strategy, seed " + std::to_string(o.seed),
                     {"KPI", "measured", "target", ""}};
    kpi.add_row({"formation: every node has a parent or is a root, after the last start",
                 r.formation ? fixed(formation_s, 1) + " s" : "never", "<= " + fixed(formation_target_s, 0) +
                 " s (3 beacon intervals)", mark(formation_ok)});
    kpi.add_row({"children of killed leaders re-homed (p50, max)",
                 fixed(rehome_p50, 1) + " s, " + fixed(rehome_max, 1) + " s (" + std::to_string(r.rehome.size()) +
                     " children of " + std::to_string(r.killed) + " leaders, " + std::to_string(r.never_rehomed) +
                     " never)",
                 "< 10 s", mark(rehome_ok)});
    kpi.add_row({"readings of live nodes lost", std::to_string(r.lost) + " of " + std::to_string(r.reported), "0",
                 mark(lost_ok)});
    kpi.add_row({"partition: nodes that detected it, local leaders (most children)",
                 std::to_string(r.region_partition_detected) + " of " + std::to_string(r.region_nodes) + ", " +
                     std::to_string(r.region_local_leaders) + " (" + std::to_string(r.region_local_leader_children) +
                     ")",
                 "> 0", ""});
    kpi.add_row({"partition: readings of the region lost, back to one hierarchy after the heal",
                 std::to_string(r.region_lost) + " of " + std::to_string(r.region_reported) + ", " +
                     (r.one_hierarchy_after_heal ? fixed(seconds(*r.one_hierarchy_after_heal), 0) + " s" : "never"),
                 "0, yes", mark(partition_ok)});
    kpi.add_row({"upward bytes saved by aggregation above the leaves (all links; at the roots)",
                 ho.baseline ? fixed(saving_above, 1) + " % (" + fixed(saving_total, 1) + " %; " + fixed(saving_root, 1) +
                                   " %)"
                             : "not measured",
                 ">= 90 %", ho.baseline ? mark(saving_ok) : ""});
    kpi.add_row({"flaps (a parent change reverted within 2 evaluations), positions jittering " +
                     fixed(ho.position_jitter_m, 0) + " m",
                 std::to_string(r.flaps), "0", mark(flaps_ok)});

    report_table more{"Behind the figures", {"metric", "value"}};
    more.add_row({"upward bytes in the steady minute, with / without aggregation",
                  std::to_string(r.bytes_aggregated) + " / " + std::to_string(r.bytes_plain)});
    more.add_row({"  of which above the leaves", std::to_string(r.bytes_aggregated_above_leaves) + " / " +
                                                     std::to_string(r.bytes_plain_above_leaves)});
    more.add_row({"  arriving at the roots",
                  std::to_string(r.root_bytes_aggregated) + " / " + std::to_string(r.root_bytes_plain)});
    more.add_row({"readings delivered at least twice (duplicates at the roots)", std::to_string(r.duplicates)});
    more.add_row({"readings of killed nodes delivered", std::to_string(r.delivered_of_killed) + " of " +
                                                             std::to_string(r.reported_by_killed)});
    more.add_row({"readings dropped from a full buffer", std::to_string(r.readings_dropped)});
    more.add_row({"parent changes (failovers)", std::to_string(r.parent_changes) + " (" + std::to_string(r.failovers) + ")"});
    more.add_row({"simulated time (s)", fixed(seconds(r.simulated), 1)});
    more.add_row({"events", std::to_string(r.events)});
    more.add_row({"wall time (s)", fixed(wall, 2)});
    more.add_row({"trace hash", hex64(r.trace_hash)});

    figures const numbers{
        {"tool", "meshkit-sim"},
        {"scenario", "hierarchy"},
        {"nodes", ho.nodes},
        {"seed", o.seed},
        {"strategy", ho.strategy},
        {"nodes_per_level", {r.per_level[0], r.per_level[1], r.per_level[2], r.per_level[3]}},
        {"formation_s", formation_s},
        {"formation_target_s", formation_target_s},
        {"rehome_s_p50", rehome_p50},
        {"rehome_s_max", rehome_max},
        {"rehomed_children", r.rehome.size()},
        {"never_rehomed", r.never_rehomed},
        {"killed_leaders", r.killed},
        {"readings_reported", r.reported},
        {"readings_delivered", r.delivered},
        {"readings_lost", r.lost},
        {"readings_duplicated", r.duplicates},
        {"readings_dropped", r.readings_dropped},
        {"region_nodes", r.region_nodes},
        {"region_partition_detected", r.region_partition_detected},
        {"region_local_leaders", r.region_local_leaders},
        {"region_local_leader_children", r.region_local_leader_children},
        {"region_readings_reported", r.region_reported},
        {"region_readings_lost", r.region_lost},
        {"one_hierarchy_after_heal_s", r.one_hierarchy_after_heal ? seconds(*r.one_hierarchy_after_heal) : -1.0},
        {"upward_bytes_aggregated", r.bytes_aggregated},
        {"upward_bytes_plain", r.bytes_plain},
        {"upward_bytes_above_leaves_aggregated", r.bytes_aggregated_above_leaves},
        {"upward_bytes_above_leaves_plain", r.bytes_plain_above_leaves},
        {"root_bytes_aggregated", r.root_bytes_aggregated},
        {"root_bytes_plain", r.root_bytes_plain},
        {"saving_percent_total", saving_total},
        {"saving_percent_above_leaves", saving_above},
        {"saving_percent_at_roots", saving_root},
        {"flaps", r.flaps},
        {"parent_changes", r.parent_changes},
        {"failovers", r.failovers},
        {"simulated_time_s", seconds(r.simulated)},
        {"events", r.events},
        {"wall_time_s", wall},
        {"trace_hash", hex64(r.trace_hash)},
        {"targets_met",
         {{"formation", formation_ok},
          {"rehome", rehome_ok},
          {"lost", lost_ok},
          {"partition", partition_ok},
          {"aggregation_saving", saving_ok},
          {"flaps", flaps_ok}}},
    };
    tools::print_report({kpi, more}, numbers, o.json);
    return formation_ok && rehome_ok && lost_ok && partition_ok && saving_ok && flaps_ok ? 0 : 1;
}

} // namespace

int main(int argc, char** argv)
{
    options const o = parse(argc, argv);
    if (o.scenario == "gossip-first")
        return run_gossip_first(o);
    if (o.scenario == "substrate")
        return run_substrate(o);
    if (o.scenario == "hierarchy")
        return run_hierarchy(o);
    return o.scenario == "gossip" ? run_gossip(o) : run_cluster(o);
}

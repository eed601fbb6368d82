// meshkit-bench-birthday: how often birthday-paradox probing finds a path
// through a random symmetric NAT, against the birthday bound.
//
// Table 1, the mechanism: a host behind a random symmetric NAT opens K
// extra sockets towards a host behind a port-restricted cone (one birthday
// probe each, `sim::transport::open_birthday_sockets`), and the cone sprays
// N probes at random ports of the symmetric NAT's address, walking the port
// range as the connector does. A trial succeeds when a probe reaches an
// extra socket. The bound is 1 - (1 - K/R)^N with R = 64,512 ports.
//
// Table 2, end to end: a gossip-first node behind a port-restricted cone
// connects to one behind a random symmetric NAT (and the reverse), through
// three public bootstrap nodes, with the connector's defaults (256 sockets,
// 1,024 probes at 256/s). It counts the pairs that end punched, and the
// simulated time from `connect` to the punched path.
//
//   meshkit-bench-birthday [--trials 200] [--pairs 50] [--seed 1] [--json]

#include <common/cli.hpp>
#include <common/report.hpp>

#include <meshkit/birthday_probe.hpp>
#include <meshkit/detail/rng.hpp>
#include <meshkit/reference/gossip_first.hpp>
#include <meshkit/sim/nat_presets.hpp>
#include <meshkit/sim/network.hpp>
#include <meshkit/sim/transport.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

namespace {

using namespace meshkit;
using namespace std::chrono_literals;

constexpr std::uint32_t port_span = 65536 - 1024;

double bound(std::size_t sockets, std::size_t probes)
{
    return 1.0 - std::pow(1.0 - static_cast<double>(sockets) / port_span, static_cast<double>(probes));
}

struct mechanism_result {
    std::size_t hits = 0;
    std::vector<std::size_t> probes_to_hit;
};

/// One trial of the mechanism; returns the probes sent before the hit, or 0 for none.
std::size_t mechanism_trial(std::uint64_t seed, std::size_t sockets, std::size_t probes)
{
    sim::network net(seed);
    sim::host_placer placer(net);
    endpoint const rendezvous_at = net.next_endpoint();
    sim::transport rendezvous(net, rendezvous_at);
    endpoint easy_seen, hard_seen;
    std::byte const easy_tag{1}, hard_tag{2};
    rendezvous.on_receive([&](endpoint const& from, std::span<std::byte const> d) {
        (d.size() == 1 && d[0] == easy_tag ? easy_seen : hard_seen) = from;
    });
    sim::transport easy(net, placer.place(sim::nat_preset::port_restricted_cone));
    sim::transport hard(net, placer.place(sim::nat_preset::symmetric));
    (void)easy.send(rendezvous_at, std::span(&easy_tag, 1));
    (void)hard.send(rendezvous_at, std::span(&hard_tag, 1));
    net.advance(1s);
    bool hit = false;
    hard.on_birthday_hit([&](endpoint const&, std::uint64_t) { hit = true; });
    std::uint64_t const token = net.rng()() | 1;
    hard.open_birthday_sockets(easy_seen, token, sockets);
    net.advance(100ms);
    // The connector's walk: a random start and a stride coprime with the range, so no port twice.
    auto& rng = net.rng();
    std::uint32_t next = static_cast<std::uint32_t>(rng.below(port_span)), stride = 1;
    do
        stride = static_cast<std::uint32_t>(1 + rng.below(port_span - 1));
    while (std::gcd(stride, port_span) != 1);
    constexpr std::size_t chunk = 16;
    for (std::size_t sent = 0; sent < probes;) {
        for (std::size_t i = 0; i < chunk && sent < probes; ++i, ++sent) {
            endpoint to = hard_seen;
            to.port = static_cast<std::uint16_t>(1024 + next);
            next = (next + stride) % port_span;
            (void)easy.send_birthday_probe(to, token);
        }
        net.advance(100ms);
        if (hit)
            return sent;
    }
    return 0;
}

/// Three public bootstrap nodes and two hosts, as the NAT tests build them.
struct small_world {
    sim::network net;
    sim::host_placer placer{net};
    std::vector<endpoint> seeds;
    std::vector<std::unique_ptr<reference::gossip_first_node>> nodes;

    explicit small_world(std::uint64_t seed)
        : net(seed, [] {
              sim::link_model l;
              l.latency = sim::latency_distribution::uniform(10ms, 40ms);
              return l;
          }())
    {
        for (int i = 0; i < 3; ++i)
            seeds.push_back(net.next_endpoint());
        for (std::size_t i = 0; i < seeds.size(); ++i) {
            node_config c;
            c.listen = seeds[i];
            c.seed = seed * 31 + i;
            c.engine<discovery::peer_gossip>().bootstrap = true;
            c.engine<discovery::peer_gossip>().capabilities = discovery::can_relay | discovery::can_coordinate;
            c.engine<nat::connector>().introducers = 2;
            std::vector<endpoint> others;
            for (std::size_t j = 0; j < seeds.size(); ++j)
                if (j != i)
                    others.push_back(seeds[j]);
            add(c, others);
        }
    }

    reference::gossip_first_node& add(node_config c, std::vector<endpoint> const& with)
    {
        discovery::bootstrap_cache cache(reference::gossip_first_cache_config(), *c.seed);
        for (auto const& s : with)
            cache.add_seed(s);
        nodes.push_back(std::make_unique<reference::gossip_first_node>(net, std::move(c), std::move(cache)));
        nodes.back()->start();
        return *nodes.back();
    }

    reference::gossip_first_node& add(sim::nat_preset p)
    {
        node_config c;
        c.listen = placer.place(p);
        c.seed = 1000 + nodes.size();
        return add(c, seeds);
    }
};

struct pair_result {
    bool punched = false;
    duration to_punched{};
};

pair_result end_to_end(std::uint64_t seed, sim::nat_preset from, sim::nat_preset to)
{
    small_world w(seed);
    auto& x = w.add(from);
    auto& y = w.add(to);
    w.net.advance(20s);
    time_point const start = w.net.now();
    std::optional<time_point> punched_at;
    x.on_event([&](reference::gossip_first_node::event_type const& e) {
        if (auto const* u = std::get_if<link_up>(&e); u && u->peer == y.id() && u->method == link_method::punched && !punched_at)
            punched_at = w.net.now();
    });
    if (reference::connect(x, y.id()))
        return {};
    w.net.advance(20s);
    if (!punched_at)
        return {};
    return {true, *punched_at - start};
}

double median_ms(std::vector<duration> v)
{
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    return std::chrono::duration<double, std::milli>(v[v.size() / 2]).count();
}

} // namespace

int main(int argc, char** argv)
{
    std::size_t trials = 200, pairs = 50;
    std::uint64_t seed = 1;
    bool json = false;
    CLI::App app{"meshkit-bench-birthday: how often birthday-paradox probing finds a path through a random "
                 "symmetric NAT, in the simulator, against the birthday bound.",
                 "meshkit-bench-birthday"};
    app.add_option("--trials", trials, "Trials per point of the mechanism table (default 200)")->check(tools::in_range(1, 1e6));
    app.add_option("--pairs", pairs, "Connections per direction in the end-to-end table (default 50)")->check(tools::in_range(1, 1e5));
    app.add_option("--seed", seed, "First seed (default 1)");
    app.add_flag("--json", json, "Print the figures as JSON instead of tables");
    tools::parse_or_exit(app, argc, argv);

    tools::report_table mechanism{"Birthday probing through a random symmetric NAT facing a port-restricted cone "
                                  "(simulated NATs, " + std::to_string(trials) + " trials a point)",
                                  {"sockets", "probes", "found", "bound", "median probes to a hit"}};
    tools::figures mechanism_json = tools::figures::array();
    for (std::size_t sockets : {64u, 256u}) {
        for (std::size_t probes : {256u, 512u, 1024u}) {
            std::size_t hits = 0;
            std::vector<std::size_t> to_hit;
            for (std::size_t t = 0; t < trials; ++t) {
                std::size_t const n = mechanism_trial(seed + t, sockets, probes);
                if (n) {
                    ++hits;
                    to_hit.push_back(n);
                }
            }
            std::sort(to_hit.begin(), to_hit.end());
            double const found = 100.0 * static_cast<double>(hits) / static_cast<double>(trials);
            double const expected = 100.0 * bound(sockets, probes);
            std::size_t const median = to_hit.empty() ? 0 : to_hit[to_hit.size() / 2];
            mechanism.add_row({std::to_string(sockets), std::to_string(probes), tools::fixed(found, 1) + " %",
                               tools::fixed(expected, 1) + " %", to_hit.empty() ? "-" : std::to_string(median)});
            mechanism_json.push_back({{"sockets", sockets},
                                      {"probes", probes},
                                      {"trials", trials},
                                      {"found_percent", found},
                                      {"bound_percent", expected},
                                      {"median_probes_to_hit", median}});
        }
    }

    tools::report_table e2e{"End to end: gossip-first nodes, the connector's defaults (256 sockets, 1,024 probes at "
                            "256/s), " + std::to_string(pairs) + " pairs a direction",
                            {"dialer -> target", "punched", "bound", "median ms to the punched path"}};
    tools::figures e2e_json = tools::figures::array();
    for (auto [from, to] : {std::pair{sim::nat_preset::port_restricted_cone, sim::nat_preset::symmetric},
                            std::pair{sim::nat_preset::symmetric, sim::nat_preset::port_restricted_cone},
                            std::pair{sim::nat_preset::cgnat, sim::nat_preset::symmetric}}) {
        std::size_t punched = 0;
        std::vector<duration> times;
        for (std::size_t i = 0; i < pairs; ++i) {
            auto const r = end_to_end(seed + 7919 * i, from, to);
            if (r.punched) {
                ++punched;
                times.push_back(r.to_punched);
            }
        }
        double const share = 100.0 * static_cast<double>(punched) / static_cast<double>(pairs);
        std::string const name = std::string(to_string(from)) + " -> " + to_string(to);
        e2e.add_row({name, tools::fixed(share, 1) + " %", tools::fixed(100.0 * bound(256, 1024), 1) + " %",
                     tools::fixed(median_ms(times), 0)});
        e2e_json.push_back({{"from", to_string(from)},
                            {"to", to_string(to)},
                            {"pairs", pairs},
                            {"punched_percent", share},
                            {"bound_percent", 100.0 * bound(256, 1024)},
                            {"median_time_to_punched_ms", median_ms(times)}});
    }
    tools::print_report({mechanism, e2e},
                        {{"tool", "meshkit-bench-birthday"},
                         {"seed", seed},
                         {"port_range", port_span},
                         {"mechanism", mechanism_json},
                         {"end_to_end", e2e_json}},
                        json);
}

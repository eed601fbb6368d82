// meshkit_sim/gossip_first_scenario.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
// The gossip-first scenario: a mesh of gossip-first reference nodes behind a
// mix of NATs on one simulated network, cache gossip, then connections
// through the ladder. `meshkit-sim gossip-first` runs and prints it, and
// tests/nat/traversal_tests.cpp checks its KPIs. It is a program's scenario,
// not part of the library: it lives with the program (see
// docs/architecture.md, "Reference nodes").
#ifndef MESHKIT_TOOLS_MESHKIT_SIM_GOSSIP_FIRST_SCENARIO_HPP
#define MESHKIT_TOOLS_MESHKIT_SIM_GOSSIP_FIRST_SCENARIO_HPP

#include <meshkit/link_events.hpp>
#include <meshkit/reference/gossip_first.hpp>
#include <meshkit/sim/nat_presets.hpp>
#include <meshkit/sim/network.hpp>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace meshkit::tools {

using sim::nat_preset;
using sim::nat_preset_count;

/** The share of hosts behind each NAT preset.

    The default is the deployment the seed's targets describe: a mesh in
    which public nodes (servers, VPSs, hosts with a forwarded port) are
    46 %, and the other 54 % sit behind the NATs of homes, offices and
    carriers: full cone 15 %, restricted cone 11 %, port-restricted cone
    19 %, carrier-grade 3 % (endpoint-independent mapping, RFC 6888, so
    punchable) and symmetric 6 % (half random, half sequential ports).
    Symmetric NATs are thus 11 % of NATed hosts; Ford, Srisuresh and Kegel
    found 18 % of NATs that do not support UDP hole punching (USENIX ATC
    2005; research/nat.md, row 1), so this mix is kinder than that
    measurement. Neither the public share nor the symmetric share has a
    published source: they are what the seed's targets imply (direct
    60 %+ needs about 60 % of targets to filter nothing; relayed under 5 %
    bounds the symmetric share). `residential()` is a mix with
    almost no public hosts, for comparison.
*/
struct nat_mix {
    std::array<double, nat_preset_count> share{};

    static nat_mix realistic() { return {{0.46, 0.15, 0.11, 0.19, 0.03, 0.03, 0.03}}; }
    static nat_mix residential() { return {{0.05, 0.10, 0.15, 0.45, 0.10, 0.05, 0.10}}; }

    /** Parses `realistic`, `residential`, or a list such as `open=0.5,symmetric=0.5` (shares are normalised).

        @return nothing for an unknown name or a malformed list.
    */
    static std::optional<nat_mix> parse(std::string_view text)
    {
        if (text == "realistic")
            return realistic();
        if (text == "residential")
            return residential();
        nat_mix m;
        double total = 0;
        while (!text.empty()) {
            auto const comma = text.find(',');
            std::string_view item = text.substr(0, comma);
            text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
            auto const eq = item.find('=');
            if (eq == std::string_view::npos)
                return std::nullopt;
            auto const preset = sim::parse_nat_preset(item.substr(0, eq));
            if (!preset)
                return std::nullopt;
            std::string const number(item.substr(eq + 1));
            char* end = nullptr;
            double const v = std::strtod(number.c_str(), &end);
            if (end == number.c_str() || *end != '\0' || v < 0)
                return std::nullopt;
            m.share[static_cast<std::size_t>(*preset)] += v;
            total += v;
        }
        if (total <= 0)
            return std::nullopt;
        for (auto& s : m.share)
            s /= total;
        return m;
    }

    [[nodiscard]] std::string describe() const
    {
        std::string out;
        for (std::size_t i = 0; i < nat_preset_count; ++i) {
            if (share[i] <= 0)
                continue;
            if (!out.empty())
                out += ", ";
            out += to_string(static_cast<nat_preset>(i));
            out += ' ';
            out += std::to_string(static_cast<int>(share[i] * 100 + 0.5));
            out += '%';
        }
        return out;
    }
};

/// Settings of the gossip-first scenario.
struct gossip_first_options {
    std::size_t nodes = 1000;
    std::uint64_t seed = 1;
    nat_mix mix = nat_mix::realistic();
    std::size_t bootstraps = 5;
    /// Random peers each node connects to after the caches have converged.
    std::size_t targets = 3;
    /// Whether a registry node collects connection reports, and whether it is down the whole run.
    bool registry = true;
    bool registry_down = false;
    /// Share of nodes that do not broadcast (Flashback's privacy option): they are never targets.
    double non_broadcasting = 0.0;
    duration join_spacing = std::chrono::milliseconds(10);
    /// After the last join, before connecting: time for cache gossip to converge.
    duration settle = std::chrono::seconds(40);
    /// Connections start at random moments in this window.
    duration connect_window = std::chrono::seconds(10);
    /// After the window: time for every ladder to finish (its punch budget is 30 s).
    duration tail = std::chrono::seconds(60);
    /// Simulated one-way link latency range.
    duration min_latency = std::chrono::milliseconds(10);
    duration max_latency = std::chrono::milliseconds(50);
    /// Sees every delivered datagram (`sim::network::set_tap`), for tests that check what crosses the wire.
    std::function<void(endpoint const&, endpoint const&, std::span<std::byte const>)> tap;
};

/// One node of a finished scenario run.
struct scenario_node {
    node_id id;
    endpoint listen;
    /// Its public address as its connector learned it, if it did.
    std::optional<endpoint> public_address;
    nat_preset nat = nat_preset::open;
    bool broadcasting = true;
};

/// One connection attempt and how it ended.
struct connection_attempt {
    std::size_t from = 0, to = 0;
    nat_preset from_nat = nat_preset::open, to_nat = nat_preset::open;
    bool connected = false;
    link_method method = link_method::direct;
    duration time_to_connect{};
    unsigned attempts = 0;
    bool message_delivered = false;
};

/// The scenario's figures: the seed's KPIs and what explains them.
struct gossip_first_result {
    std::vector<connection_attempt> attempts;
    std::vector<scenario_node> nodes;
    std::size_t connected = 0, direct = 0, punched = 0, relayed = 0, upgraded = 0, messages_delivered = 0;
    duration median_connect{}, p95_connect{};
    /// Mean share of broadcasting peers each node has cached, when connecting starts and at the end.
    double cache_propagation_at_connect = 0, cache_propagation = 0;
    /// Nodes whose cache holds every broadcasting peer, at the end.
    std::size_t complete_caches = 0;
    std::size_t population = 0;
    std::uint64_t relayed_bytes = 0;
    std::uint64_t registry_reports = 0, reports_sent = 0;
    std::uint64_t events = 0, datagrams = 0;
    duration simulated{};
    std::uint64_t trace_hash = 0;

    [[nodiscard]] double rate(std::size_t n, std::size_t of) const noexcept { return of ? 100.0 * n / of : 0.0; }
};

/** Runs the gossip-first scenario: bootstrap, cache gossip, then connections through the ladder.

    `options.bootstraps` public bootstrap nodes start first, each one the
    others' seed; then `options.nodes` nodes join at `join_spacing`, each
    behind a NAT drawn from `options.mix` and seeded with the bootstrap
    addresses. After `settle`, every node connects to `targets` peers drawn
    from its own cache and sends each one message. Deterministic: the same
    options give the same result and trace hash. `Node` and `Registry` are
    the reference nodes, plain or secure
    (`reference::secure_gossip_first_node`, `secure_registry_node`).
*/
template <class Node = reference::gossip_first_node, class Registry = reference::registry_node>
gossip_first_result run_gossip_first(gossip_first_options const& o)
{
    using namespace std::chrono_literals;
    sim::link_model link;
    link.latency = sim::latency_distribution::uniform(o.min_latency, o.max_latency);
    sim::network net(o.seed, link);
    if (o.tap)
        net.set_tap(o.tap);
    detail::rng rng(o.seed ^ 0x6f7373697066ull);

    auto make_node = [&](node_config cfg, std::uint64_t node_seed, std::vector<endpoint> const& seeds) {
        discovery::bootstrap_cache cache(reference::gossip_first_cache_config(), node_seed);
        for (auto const& s : seeds)
            cache.add_seed(s);
        cfg.seed = node_seed;
        return std::make_unique<Node>(net, std::move(cfg), std::move(cache));
    };

    // The registry, then the bootstrap nodes, all public.
    std::unique_ptr<Registry> registry;
    std::optional<endpoint> registry_address;
    if (o.registry) {
        node_config rc;
        rc.seed = o.seed * 7919 + 1;
        registry = std::make_unique<Registry>(net, rc);
        registry_address = registry->local_endpoint();
        if (o.registry_down)
            net.crash(*registry_address);
        else
            registry->start();
    }
    std::vector<endpoint> bootstrap_addresses;
    for (std::size_t i = 0; i < o.bootstraps; ++i)
        bootstrap_addresses.push_back(net.next_endpoint());
    std::vector<std::unique_ptr<Node>> bootstraps;
    for (std::size_t i = 0; i < o.bootstraps; ++i) {
        node_config c;
        c.listen = bootstrap_addresses[i];
        c.engine<discovery::peer_gossip>().bootstrap = true;
        c.engine<discovery::peer_gossip>().capabilities = discovery::can_relay | discovery::can_coordinate;
        c.engine<nat::connector>().max_connections = 4 * (o.nodes + o.bootstraps);
        c.engine<nat::connector>().max_relay_sessions = 4 * o.nodes;
        c.engine<nat::connector>().introducers = std::min<std::size_t>(2, o.bootstraps - 1);
        c.engine<discovery::registry_client>().registry = registry_address;
        c.engine<discovery::registry_client>().register_self = true;
        std::vector<endpoint> others;
        for (std::size_t j = 0; j < o.bootstraps; ++j)
            if (j != i)
                others.push_back(bootstrap_addresses[j]);
        bootstraps.push_back(make_node(c, o.seed * 1000003 + i, others));
        bootstraps.back()->start();
    }

    // The population, each behind its NAT.
    std::vector<std::unique_ptr<Node>> nodes;
    std::vector<nat_preset> presets;
    std::vector<bool> broadcasting;
    sim::host_placer placer(net);
    // The population has the mix's exact shares (largest remainders), in a
    // seeded random order: the mix is a premise, not something to sample.
    std::vector<nat_preset> population;
    {
        std::array<std::size_t, nat_preset_count> count{};
        std::vector<std::pair<double, std::size_t>> remainder;
        std::size_t assigned = 0;
        for (std::size_t p = 0; p < nat_preset_count; ++p) {
            double const exact = o.mix.share[p] * static_cast<double>(o.nodes);
            count[p] = static_cast<std::size_t>(exact);
            assigned += count[p];
            remainder.emplace_back(exact - static_cast<double>(count[p]), p);
        }
        std::stable_sort(remainder.begin(), remainder.end(), [](auto const& a, auto const& b) { return a.first > b.first; });
        for (std::size_t k = 0; assigned < o.nodes; ++k, ++assigned)
            ++count[remainder[k % remainder.size()].second];
        for (std::size_t p = 0; p < nat_preset_count; ++p)
            population.insert(population.end(), count[p], static_cast<nat_preset>(p));
        for (std::size_t i = population.size(); i > 1; --i)
            std::swap(population[i - 1], population[rng.below(i)]);
    }
    for (std::size_t i = 0; i < o.nodes; ++i) {
        auto const p = static_cast<std::size_t>(population[i]);
        auto const preset = static_cast<nat_preset>(p);
        node_config c;
        c.listen = placer.place(preset);
        bool const shares = !rng.chance(o.non_broadcasting);
        c.engine<discovery::peer_gossip>().broadcasting = shares;
        c.engine<discovery::registry_client>().registry = registry_address;
        nodes.push_back(make_node(c, o.seed * 2654435761u + i + 17, bootstrap_addresses));
        presets.push_back(preset);
        broadcasting.push_back(shares);
    }

    // Joins, spaced.
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        net.run_until(time_point(o.join_spacing * static_cast<duration::rep>(i + 1)));
        nodes[i]->start();
    }
    time_point const connect_at = net.now() + o.settle;
    net.run_until(connect_at);

    gossip_first_result r;
    r.population = nodes.size();
    std::size_t sharing = 0;
    for (bool b : broadcasting)
        sharing += b;
    auto propagation = [&](std::size_t* complete) {
        double sum = 0;
        for (std::size_t i = 0; i < nodes.size(); ++i) {
            std::size_t known = 0, expected = 0;
            auto& cache = nodes[i]->discovery();
            for (std::size_t j = 0; j < nodes.size(); ++j) {
                if (i == j || !broadcasting[j])
                    continue;
                ++expected;
                known += cache.find(nodes[j]->id()) != nullptr;
            }
            sum += expected ? static_cast<double>(known) / expected : 1.0;
            if (complete && known == expected)
                ++*complete;
        }
        return nodes.empty() ? 0.0 : 100.0 * sum / nodes.size();
    };
    r.cache_propagation_at_connect = propagation(nullptr);

    // Each node picks its targets from its own cache: gossip-first, no registry lookup.
    struct planned {
        time_point at;
        std::size_t from, to;
    };
    std::vector<planned> plan;
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        std::vector<std::size_t> pool;
        for (std::size_t j = 0; j < nodes.size(); ++j)
            if (j != i && broadcasting[j] && nodes[i]->discovery().find(nodes[j]->id()))
                pool.push_back(j);
        for (std::size_t k = 0; k < o.targets && !pool.empty(); ++k) {
            std::size_t const at = rng.below(pool.size());
            auto const offset = duration(static_cast<duration::rep>(rng.below(
                static_cast<std::uint64_t>(std::max<duration::rep>(1, o.connect_window.count())))));
            plan.push_back({connect_at + offset, i, pool[at]});
            pool.erase(pool.begin() + static_cast<std::ptrdiff_t>(at));
        }
    }
    std::sort(plan.begin(), plan.end(), [](planned const& a, planned const& b) { return a.at < b.at; });
    std::vector<std::byte> const hello(256, std::byte{0x5a});
    for (auto const& p : plan) {
        net.run_until(p.at);
        (void)reference::connect(*nodes[p.from], nodes[p.to]->id());
        (void)reference::send(*nodes[p.from], nodes[p.to]->id(), hello);
    }
    net.run_until(connect_at + o.connect_window + o.tail);

    // Read the outcome off each initiator's connector.
    std::vector<duration> times;
    for (auto const& p : plan) {
        connection_attempt a{p.from, p.to, presets[p.from], presets[p.to]};
        if (auto info = nodes[p.from]->template engine<nat::connector>().find(nodes[p.to]->id())) {
            a.connected = info->established;
            a.method = info->method;
            a.time_to_connect = info->time_to_connect;
            a.attempts = info->attempts;
            a.message_delivered = info->pending_messages == 0;
            if (info->upgraded)
                ++r.upgraded;
        }
        if (a.connected) {
            ++r.connected;
            times.push_back(a.time_to_connect);
            switch (a.method) {
            case link_method::direct: ++r.direct; break;
            case link_method::punched: ++r.punched; break;
            case link_method::relayed: ++r.relayed; break;
            case link_method::attached: break;
            }
        }
        r.messages_delivered += a.message_delivered;
        r.attempts.push_back(a);
    }
    std::sort(times.begin(), times.end());
    if (!times.empty()) {
        r.median_connect = times[times.size() / 2];
        r.p95_connect = times[std::min(times.size() - 1, times.size() * 95 / 100)];
    }
    r.cache_propagation = propagation(&r.complete_caches);
    for (auto const& b : bootstraps) {
        r.relayed_bytes += b->template engine<nat::connector>().stats().relayed_bytes;
        r.reports_sent += b->template engine<discovery::registry_client>().reports_sent();
    }
    for (auto const& n : nodes) {
        r.relayed_bytes += n->template engine<nat::connector>().stats().relayed_bytes;
        r.reports_sent += n->template engine<discovery::registry_client>().reports_sent();
    }
    if (registry && !o.registry_down)
        r.registry_reports = registry->template engine<discovery::registry_server>().reports();
    for (std::size_t i = 0; i < nodes.size(); ++i)
        r.nodes.push_back({nodes[i]->id(), nodes[i]->local_endpoint(),
                           nodes[i]->template engine<nat::connector>().public_address(), presets[i], broadcasting[i]});
    r.events = net.stats().events;
    r.datagrams = net.stats().delivered;
    r.simulated = net.now().time_since_epoch();
    r.trace_hash = net.trace_hash();
    return r;
}

} // namespace meshkit::tools

#endif // MESHKIT_TOOLS_MESHKIT_SIM_GOSSIP_FIRST_SCENARIO_HPP

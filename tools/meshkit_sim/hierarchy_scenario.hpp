// meshkit_sim/hierarchy_scenario.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
// The hierarchical mesh scenario (Peat): companies, platoons, squads and
// platforms spread over a map, beacons over radio nets (one multicast group
// per map cell), telemetry from every node every 5 s folded upward, leaders
// killed, a region cut off for a minute, positions that jitter.
// `meshkit-sim hierarchy` runs and prints it; tests/tools run it on several
// seeds. A program's scenario, not part of the library (docs/architecture.md,
// "Reference nodes").
#ifndef MESHKIT_TOOLS_MESHKIT_SIM_HIERARCHY_SCENARIO_HPP
#define MESHKIT_TOOLS_MESHKIT_SIM_HIERARCHY_SCENARIO_HPP

#include <common/planned_strategy.hpp>

#include <meshkit/reference/hierarchical.hpp>
#include <meshkit/sim/network.hpp>
#include <meshkit/topology/no_aggregation.hpp>
#include <meshkit/topology/summary_aggregator.hpp>
#include <meshkit/wire/codec.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace meshkit::tools {

/// Settings of the hierarchy scenario (defaults: the 1,000 nodes, four levels).
struct hierarchy_options {
    std::size_t nodes = 1000;
    std::uint64_t seed = 1;
    /// `static`, `dynamic` or `hybrid` (hierarchy::*_strategy).
    std::string strategy = "dynamic";
    /// Squad leaders (level 1) and platoon leaders (level 2) killed (crashed) mid-run.
    std::size_t kill_squad_leaders = 3;
    std::size_t kill_platoon_leaders = 1;
    /// A region around one platoon leader is cut off from everything else this long.
    duration partition_for = std::chrono::seconds(60);
    /// Every node moves about its place by up to this much every 5 s (GPS noise, a vehicle shunting).
    double position_jitter_m = 10;
    /// Also run the same mesh with `no_aggregation` to measure what aggregation saves.
    bool baseline = true;
};

/// One run's figures.
struct hierarchy_result {
    std::size_t per_level[4] = {};
    /// From the last node's start until every node had a parent or was a root.
    std::optional<duration> formation;
    duration beacon_interval{};
    /// Children of killed leaders: time from the kill to their next parent; those never re-homed.
    std::vector<duration> rehome;
    std::size_t never_rehomed = 0;
    std::size_t killed = 0;
    /// Readings of nodes alive at the end: reported, delivered to a root (distinct), lost; copies counted twice.
    std::uint64_t reported = 0, delivered = 0, lost = 0, duplicates = 0;
    /// Readings of the killed nodes: reported, and delivered anyway.
    std::uint64_t reported_by_killed = 0, delivered_of_killed = 0;
    /// Readings dropped from a full buffer (counted by the nodes).
    std::uint64_t readings_dropped = 0;
    // The partition.
    std::size_t region_nodes = 0;
    std::size_t region_partition_detected = 0;
    /// Nodes of the region that led it while cut off (promoted, holding what goes up), and the most children one had.
    std::size_t region_local_leaders = 0;
    std::size_t region_local_leader_children = 0;
    std::uint64_t region_reported = 0, region_lost = 0;
    /// From the heal until every node again had a parent or was a native root, none promoted.
    std::optional<duration> one_hierarchy_after_heal;
    // Upward bytes over one minute of steady telemetry (no failures), with and without aggregation.
    std::uint64_t bytes_aggregated = 0, bytes_plain = 0;
    std::uint64_t bytes_aggregated_above_leaves = 0, bytes_plain_above_leaves = 0;
    std::uint64_t root_bytes_aggregated = 0, root_bytes_plain = 0;
    std::uint64_t flaps = 0, parent_changes = 0, failovers = 0;
    std::uint64_t events = 0;
    duration simulated{};
    std::uint64_t trace_hash = 0;
};

namespace detail_hierarchy {

using namespace std::chrono_literals;

/// Where the scenario places node `i` and what level it plans for it.
struct placement {
    double x = 0, y = 0; // metres east, north of the map's origin
    std::uint8_t level = 0;
};

inline geo_position const map_origin{59.5, 10.0, std::nullopt};

/// Companies of ~250 nodes, 8 km apart; platoon leaders within 2 km of their company's, squad leaders within
/// 1.2 km of a platoon's, platforms within 250 m of a squad's.
inline std::vector<placement> lay_out(std::size_t n, detail::rng& rng)
{
    std::size_t const companies = std::max<std::size_t>(1, (n + 125) / 250);
    std::size_t const platoons = std::max<std::size_t>(companies, n / 50);
    std::size_t const squads = std::max<std::size_t>(platoons, n / 8);
    std::size_t const cols = static_cast<std::size_t>(std::ceil(std::sqrt(static_cast<double>(companies))));
    std::vector<placement> out;
    out.reserve(n);
    auto around = [&](placement const& c, double radius, std::uint8_t level) {
        double const r = radius * std::sqrt(rng.unit());
        double const a = 2 * 3.14159265358979 * rng.unit();
        return placement{c.x + r * std::cos(a), c.y + r * std::sin(a), level};
    };
    for (std::size_t c = 0; c < companies && out.size() < n; ++c)
        out.push_back(placement{8'000.0 * static_cast<double>(c % cols), 8'000.0 * static_cast<double>(c / cols), 3});
    std::size_t const first_platoon = out.size();
    for (std::size_t p = 0; p < platoons && out.size() < n; ++p)
        out.push_back(around(out[p % companies], 2'000, 2));
    std::size_t const first_squad = out.size();
    std::size_t const platoon_count = first_squad - first_platoon;
    for (std::size_t s = 0; s < squads && out.size() < n; ++s)
        out.push_back(around(out[first_platoon + rng.below(platoon_count)], 1'200, 1));
    std::size_t const squad_count = out.size() - first_squad;
    while (out.size() < n)
        out.push_back(around(out[first_squad + rng.below(squad_count)], 250, 0));
    return out;
}

/// The radio net a node at (x, y) beacons on: one multicast group per 1.5 km cell.
inline endpoint radio_cell(long cx, long cy)
{
    auto const ux = static_cast<std::uint32_t>(cx + 2048) & 0xFFF;
    auto const uy = static_cast<std::uint32_t>(cy + 2048) & 0xFFF;
    return endpoint::v4(0xE0000000u | (ux << 12) | uy, 7946);
}
inline constexpr double cell_m = 1'500;

/// The hybrid policy's rules here: a cut-off region may be next to one company only, so one native node demotes.
inline hierarchy::hybrid_strategy_config scenario_hybrid()
{
    hierarchy::hybrid_strategy_config c;
    c.min_peers_for_promotion = 1;
    c.demote_at_higher_level = 1;
    return c;
}

inline std::vector<std::byte> reading(geo_position p, std::uint32_t tracks)
{
    std::vector<std::byte> bytes;
    wire::encode(topology::node_state{p, std::uint8_t{70}, true, tracks}, bytes);
    return bytes;
}

/// One run with one aggregator. `steady_only`: formation and the steady minute only (the baseline's run).
template <class Strategy, class Aggregator>
hierarchy_result run(hierarchy_options const& o, bool steady_only)
{
    using node_type = reference::hierarchical_node<Strategy, Aggregator>;
    using engine_type = topology::hierarchical_mesh<Aggregator>;
    hierarchy_result r;
    sim::network net(o.seed);
    std::vector<placement> const plan = lay_out(o.nodes, net.rng());
    std::size_t const n = plan.size();

    topology::mesh_config base;
    base.beacons.max_distance_m = 3'000;
    base.selection.max_distance_m = 3'000;
    base.beacon_to_heard = false; // the radio nets carry every beacon
    base.top_level = 3;
    r.beacon_interval = base.beacons.broadcast_interval;

    std::vector<std::unique_ptr<node_type>> nodes;
    std::vector<endpoint> address(n);
    std::vector<geo_position> home(n);
    std::unordered_map<node_id, std::size_t> index_of;
    // The ledger: what each summary folded, what reached a root, who re-homed when.
    std::map<topology::packet_key, std::vector<topology::packet_key>> folded_exact;
    std::vector<topology::packet_key> at_roots;
    std::vector<time_point> waiting_since(n, time_point::max());
    std::vector<bool> partition_detected(n, false);
    std::uint64_t root_bytes = 0;
    bool count_root_bytes = false;

    for (std::size_t i = 0; i < n; ++i) {
        placement const& p = plan[i];
        home[i] = offset_m(map_origin, p.y, p.x);
        topology::mesh_config cfg = base;
        cfg.position = home[i];
        cfg.mobility = p.level >= 2 ? mobility::fixed : (p.level == 1 ? mobility::semi_mobile : mobility::mobile);
        cfg.resources = node_resources{static_cast<std::uint16_t>(p.level >= 1 ? 4 : 1),
                                       p.level >= 1 ? 4096u : 256u,
                                       p.level >= 1 ? 100u : 5u,
                                       static_cast<std::uint8_t>(net.rng().below(60)),
                                       static_cast<std::uint8_t>(net.rng().below(60)),
                                       p.level >= 2 ? std::nullopt
                                                    : std::optional<std::uint8_t>(
                                                          static_cast<std::uint8_t>(30 + net.rng().below(70)))};
        cfg.can_parent = p.level >= 1;
        node_config nc;
        nc.engine<engine_type>() = cfg;
        auto& node = nodes.emplace_back(
            std::make_unique<node_type>(net, nc, discovery::static_seeds{}, tools::planned_strategy<Strategy>(p.level, 3, scenario_hybrid())));
        address[i] = node->local_endpoint();
        index_of[node->id()] = i;
        ++r.per_level[std::min<std::uint8_t>(p.level, 3)];
        node->on_event([&, i](auto const& e) {
            std::visit(
                [&](auto const& ev) {
                    using V = std::decay_t<decltype(ev)>;
                    if constexpr (std::is_same_v<V, topology::summary_sent>) {
                        folded_exact[ev.summary] = ev.folded;
                    } else if constexpr (std::is_same_v<V, topology::packet_received>) {
                        if (topology::direction_of(ev.type) == topology::direction::upward) {
                            at_roots.push_back(ev.key);
                            if (count_root_bytes) {
                                topology::hm_packet sized;
                                sized.payload.resize(ev.payload.size());
                                root_bytes += topology::encoded_size(sized);
                            }
                        }
                    } else if constexpr (std::is_same_v<V, topology::parent_changed> ||
                                         std::is_same_v<V, topology::parent_selected>) {
                        if (waiting_since[i] != time_point::max()) {
                            r.rehome.push_back(net.now() - waiting_since[i]);
                            waiting_since[i] = time_point::max();
                        }
                    } else if constexpr (std::is_same_v<V, topology::partition_detected>) {
                        partition_detected[i] = true;
                    }
                },
                e);
        });
        // The radio: it transmits on its cell's net and hears the nets of the cells around it (5 × 5, no corners).
        long const cx = std::lround(std::floor(p.x / cell_m));
        long const cy = std::lround(std::floor(p.y / cell_m));
        node->join(radio_cell(cx, cy));
        for (long dx = -2; dx <= 2; ++dx)
            for (long dy = -2; dy <= 2; ++dy)
                if (std::abs(dx) + std::abs(dy) < 4)
                    net.join_group(radio_cell(cx + dx, cy + dy), address[i]);
    }

    auto mesh = [&](std::size_t i) -> engine_type const& { return nodes[i]->template engine<engine_type>(); };
    std::vector<bool> alive(n, true);
    auto formed = [&](bool native_only) {
        for (std::size_t i = 0; i < n; ++i) {
            if (!alive[i])
                continue;
            auto const& m = mesh(i);
            if (native_only && m.level() != plan[i].level)
                return false;
            if (!m.is_root() && !m.parent())
                return false;
        }
        return true;
    };

    // Start: every node within the first 10 s, in a random order.
    std::vector<duration> start_at(n);
    for (auto& s : start_at)
        s = std::chrono::milliseconds(net.rng().below(10'000));
    std::vector<std::size_t> order(n);
    for (std::size_t i = 0; i < n; ++i)
        order[i] = i;
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return start_at[a] < start_at[b]; });
    for (std::size_t i : order) {
        net.run_until(time_point{} + start_at[i]);
        nodes[i]->start();
    }
    time_point const last_start = net.now();
    while (net.now() - last_start < 120s) {
        net.advance(250ms);
        if (formed(false)) {
            r.formation = net.now() - last_start;
            break;
        }
    }

    // The driver's second: reports (each node every 5 s, phased by index), jitter, kills, the partition.
    std::uint64_t tick = 0;
    std::set<topology::packet_key> reported_keys;
    std::set<topology::packet_key> killed_keys;
    std::set<topology::packet_key> region_keys;
    std::vector<bool> in_region(n, false);
    bool reporting = true;
    auto second = [&] {
        for (std::size_t i = 0; i < n; ++i) {
            if (!alive[i])
                continue;
            if ((i + tick) % 5 == 0 && o.position_jitter_m > 0) {
                double const a = 2 * 3.14159265358979 * net.rng().unit();
                double const d = o.position_jitter_m * net.rng().unit();
                nodes[i]->template with_engine<engine_type>(
                    [&](auto& e, auto&) { e.relocate(offset_m(home[i], d * std::sin(a), d * std::cos(a))); });
            }
            if (reporting && (i + tick) % 5 == 0) {
                auto k = reference::report(*nodes[i], topology::data_type::telemetry,
                                           reading(home[i], static_cast<std::uint32_t>(tick)));
                if (k) {
                    reported_keys.insert(*k);
                    if (in_region[i])
                        region_keys.insert(*k);
                }
            }
        }
        ++tick;
        net.advance(1s);
    };
    auto upward_bytes = [&](bool above_leaves) {
        std::uint64_t sum = 0;
        for (std::size_t i = 0; i < n; ++i)
            if (!above_leaves || plan[i].level > 0)
                sum += mesh(i).stats().upward_bytes;
        return sum;
    };

    // Warm-up, then the steady minute in which bytes are measured.
    for (int s = 0; s < 30; ++s)
        second();
    std::uint64_t const bytes_before = upward_bytes(false), above_before = upward_bytes(true);
    count_root_bytes = true;
    for (int s = 0; s < 60; ++s)
        second();
    count_root_bytes = false;
    r.bytes_aggregated = upward_bytes(false) - bytes_before;
    r.bytes_aggregated_above_leaves = upward_bytes(true) - above_before;
    r.root_bytes_aggregated = root_bytes;
    if (steady_only) {
        r.events = net.stats().events;
        r.simulated = net.now() - time_point{};
        r.trace_hash = net.trace_hash();
        return r;
    }

    // Kills: squad and platoon leaders with children, chosen at random.
    auto kill_some = [&](std::uint8_t level, std::size_t count) {
        std::vector<std::size_t> pool;
        for (std::size_t i = 0; i < n; ++i)
            if (alive[i] && plan[i].level == level && !mesh(i).children().empty())
                pool.push_back(i);
        for (std::size_t k = 0; k < count && !pool.empty(); ++k) {
            std::size_t const pick = net.rng().below(pool.size());
            std::size_t const victim = pool[pick];
            pool.erase(pool.begin() + static_cast<std::ptrdiff_t>(pick));
            for (std::size_t c = 0; c < n; ++c)
                if (alive[c] && mesh(c).parent() && mesh(c).parent()->id == nodes[victim]->id())
                    waiting_since[c] = net.now();
            net.crash(address[victim]);
            alive[victim] = false;
            ++r.killed;
        }
    };
    kill_some(1, o.kill_squad_leaders);
    kill_some(2, o.kill_platoon_leaders);
    for (int s = 0; s < 60; ++s)
        second();
    for (std::size_t i = 0; i < n; ++i)
        if (waiting_since[i] != time_point::max() && alive[i]) {
            ++r.never_rehomed;
            waiting_since[i] = time_point::max();
        }

    // The partition: everything within 2.5 km of a platoon leader of the first company, its company leader aside.
    std::size_t centre = n;
    for (std::size_t i = 0; i < n && centre == n; ++i)
        if (alive[i] && plan[i].level == 2)
            centre = i;
    std::vector<endpoint> region;
    if (centre < n) {
        for (std::size_t i = 0; i < n; ++i) {
            double const dx = plan[i].x - plan[centre].x, dy = plan[i].y - plan[centre].y;
            if (plan[i].level < 3 && std::sqrt(dx * dx + dy * dy) <= 2'500) {
                in_region[i] = true;
                region.push_back(address[i]);
                r.region_nodes += alive[i] ? 1 : 0;
            }
        }
        net.partition({region});
    }
    for (duration cut{}; cut < o.partition_for; cut += 1s) {
        second();
        if (cut + 1s == o.partition_for) {
            // The cell at its most autonomous: who leads it, and how many follow.
            for (std::size_t i = 0; i < n; ++i) {
                if (!alive[i] || !in_region[i])
                    continue;
                if (mesh(i).level() > plan[i].level && !mesh(i).children().empty()) {
                    ++r.region_local_leaders;
                    r.region_local_leader_children =
                        std::max(r.region_local_leader_children, mesh(i).children().size());
                }
            }
        }
    }
    for (std::size_t i = 0; i < n; ++i)
        r.region_partition_detected += alive[i] && in_region[i] && partition_detected[i] ? 1 : 0;
    net.heal();
    time_point const healed = net.now();
    for (int s = 0; s < 120; ++s) {
        second();
        if (!r.one_hierarchy_after_heal && formed(true)) {
            bool none_promoted = true;
            for (std::size_t i = 0; i < n; ++i)
                none_promoted = none_promoted && (!alive[i] || mesh(i).level() == plan[i].level);
            if (none_promoted)
                r.one_hierarchy_after_heal = net.now() - healed;
        }
    }
    // Stop reporting and let everything drain.
    reporting = false;
    for (int s = 0; s < 90; ++s)
        second();

    // Every reading a root received, through the summaries that folded it.
    std::set<topology::packet_key> delivered;
    std::vector<topology::packet_key> stack;
    std::uint64_t readings_at_roots = 0;
    for (auto const& k : at_roots) {
        stack.push_back(k);
        while (!stack.empty()) {
            auto const key = stack.back();
            stack.pop_back();
            auto it = folded_exact.find(key);
            if (it == folded_exact.end()) {
                ++readings_at_roots;
                delivered.insert(key);
            } else {
                stack.insert(stack.end(), it->second.begin(), it->second.end());
            }
        }
    }
    for (auto const& k : reported_keys) {
        auto who = index_of.find(k.origin);
        bool const dead = who != index_of.end() && !alive[who->second];
        bool const got = delivered.count(k) > 0;
        if (dead) {
            ++r.reported_by_killed;
            r.delivered_of_killed += got ? 1 : 0;
            continue;
        }
        ++r.reported;
        r.delivered += got ? 1 : 0;
        r.lost += got ? 0 : 1;
        if (region_keys.count(k)) {
            ++r.region_reported;
            r.region_lost += got ? 0 : 1;
        }
    }
    r.duplicates = readings_at_roots - delivered.size();
    for (std::size_t i = 0; i < n; ++i) {
        auto const& st = mesh(i).stats();
        r.flaps += st.flaps;
        r.parent_changes += st.parent_changes;
        r.failovers += st.failovers;
        r.readings_dropped += st.readings_dropped;
    }
    r.events = net.stats().events;
    r.simulated = net.now() - time_point{};
    r.trace_hash = net.trace_hash();
    return r;
}

template <class Strategy>
hierarchy_result run_with(hierarchy_options const& o)
{
    auto r = run<Strategy, topology::summary_aggregator>(o, false);
    if (o.baseline) {
        auto plain = run<Strategy, topology::no_aggregation>(o, true);
        r.bytes_plain = plain.bytes_aggregated;
        r.bytes_plain_above_leaves = plain.bytes_aggregated_above_leaves;
        r.root_bytes_plain = plain.root_bytes_aggregated;
    }
    return r;
}

} // namespace detail_hierarchy

/// Runs the scenario. @throws std::invalid_argument for an unknown strategy or fewer than 20 nodes.
inline hierarchy_result run_hierarchy(hierarchy_options const& o)
{
    if (o.nodes < 20)
        throw std::invalid_argument("meshkit-sim hierarchy: --nodes must be at least 20");
    if (o.strategy == "static")
        return detail_hierarchy::run_with<hierarchy::static_strategy>(o);
    if (o.strategy == "hybrid")
        return detail_hierarchy::run_with<hierarchy::hybrid_strategy>(o);
    if (o.strategy == "dynamic")
        return detail_hierarchy::run_with<hierarchy::dynamic_strategy>(o);
    throw std::invalid_argument("meshkit-sim hierarchy: --strategy must be static, dynamic or hybrid");
}

} // namespace meshkit::tools

#endif // MESHKIT_TOOLS_MESHKIT_SIM_HIERARCHY_SCENARIO_HPP

// meshkit_sim/substrate_scenario.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
// The substrate/transient scenario: substrates in one mesh across enclaves,
// transients attached to them, latency that drifts, jitter, substrate
// crashes and graceful shutdowns, and a stream of publications from
// substrates and transients. `meshkit-sim substrate` runs and prints it;
// tests/tools run it on several seeds. A program's scenario, not part of the
// library (docs/architecture.md, "Reference nodes").
#ifndef MESHKIT_TOOLS_MESHKIT_SIM_SUBSTRATE_SCENARIO_HPP
#define MESHKIT_TOOLS_MESHKIT_SIM_SUBSTRATE_SCENARIO_HPP

#include <meshkit/reference/substrate_transient.hpp>
#include <meshkit/sim/network.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <numbers>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace meshkit::tools {

/// Settings of the substrate scenario (defaults: the 50 / 2,000 / 5).
struct substrate_options {
    std::size_t substrates = 50;
    std::size_t transients = 2000;
    std::size_t enclaves = 5;
    std::uint64_t seed = 1;
    /// Children a substrate takes (REPRAM: 100).
    std::size_t max_children = 100;
    /// Publishing, failures and measurements run this long after the warm-up.
    duration run = std::chrono::minutes(20);
    /// Transients and substrates that publish, each one line every `publish_every`.
    std::size_t transient_publishers = 20;
    std::size_t substrate_publishers = 5;
    duration publish_every = std::chrono::seconds(5);
    /// Substrates that crash (silently, as a machine does), and that shut down gracefully, during the run.
    std::size_t crashes = 3;
    std::size_t shutdowns = 3;
    /// Every host circles its place on the map (radius 5 ms, a 30-minute period): latency drifts, up to about 1 ms a minute.
    bool drift = true;
    /// Extra delay of each datagram, uniform in [0, jitter].
    duration jitter = std::chrono::milliseconds(5);
};

/// What the scenario measured.
struct substrate_result {
    std::size_t publications = 0;
    /// (node, publication) pairs owed to live nodes and delivered; publications some live node never got.
    std::uint64_t owed = 0, delivered = 0;
    std::size_t lost = 0;
    /// Deliveries to an application of a publication it had already.
    std::uint64_t duplicates = 0;
    std::uint64_t migrations = 0, migrations_failed = 0, flaps = 0;
    /// Time from a substrate's goodbye, or crash, to each of its children's next attachment.
    std::vector<duration> reattach_after_goodbye, reattach_after_crash;
    /// Children never re-attached by the end.
    std::size_t never_reattached = 0;
    /// Chosen substrate's true RTT over the best same-enclave substrate with room for it, sampled every minute.
    std::vector<double> rtt_ratio;
    /// The most children any substrate held at any sample (every 5 s).
    std::size_t max_children_seen = 0;
    std::size_t live_substrates = 0;
    std::uint64_t publications_resent = 0, caught_up = 0, catch_up_incomplete = 0, publications_dropped = 0;
    std::uint64_t detached_rounds = 0;
    std::uint64_t events = 0;
    duration simulated{};
    std::uint64_t trace_hash = 0;
};

/// The `q` quantile (0..1) of `v` (sorted in place); zero when empty.
template <class T>
T quantile(std::vector<T>& v, double q)
{
    if (v.empty())
        return T{};
    std::sort(v.begin(), v.end());
    auto const i = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
    return v[std::min(i, v.size() - 1)];
}

/** Runs the substrate scenario. Deterministic: the same options give the same result and trace hash.

    Hosts sit on a map in milliseconds: the enclaves' centres on a circle
    of radius 40 ms, each host within 15 ms of its centre; one-way latency
    is 1 ms plus the distance, so a same-enclave substrate is near and
    another enclave's is far. Each transient is given one substrate drawn
    from all of them, usually in another enclave: choosing the right one
    is its own work. Timeline: substrates start and learn each other (60 s),
    transients attach (60 s), then for `run` publishers publish while
    substrates crash and shut down at even intervals, then 4 minutes drain.
*/
inline substrate_result run_substrate(substrate_options const& o)
{
    using namespace std::chrono_literals;
    using reference::substrate_node;
    using reference::transient_node;

    sim::link_model link;
    link.jitter = o.jitter;
    sim::network net(o.seed, link);
    detail::rng rng(o.seed ^ 0x7375627374726174ull);

    // -- the map --------------------------------------------------------------
    struct place {
        double x = 0, y = 0, phase = 0;
        std::size_t enclave = 0;
    };
    auto places = std::make_shared<std::unordered_map<endpoint, place>>();
    double const drift_radius = o.drift ? 5.0 : 0.0;
    auto where = [places, drift_radius](endpoint const& e, time_point t) {
        auto it = places->find(e.on(transport_protocol::udp));
        if (it == places->end())
            return std::pair{0.0, 0.0};
        double const turn = 2 * std::numbers::pi * std::chrono::duration<double>(t.time_since_epoch()).count() / 1800.0;
        return std::pair{it->second.x + drift_radius * std::cos(turn + it->second.phase),
                         it->second.y + drift_radius * std::sin(turn + it->second.phase)};
    };
    auto one_way = [where](endpoint const& a, endpoint const& b, time_point t) {
        auto const [ax, ay] = where(a, t);
        auto const [bx, by] = where(b, t);
        return std::chrono::duration_cast<duration>(std::chrono::duration<double, std::milli>(1.0 + std::hypot(ax - bx, ay - by)));
    };
    net.set_latency_map(one_way);
    auto put = [&](endpoint const& e, std::size_t enclave) {
        double const angle = 2 * std::numbers::pi * static_cast<double>(enclave) / static_cast<double>(o.enclaves);
        double const r = 15.0 * std::sqrt(rng.unit()), a = 2 * std::numbers::pi * rng.unit();
        (*places)[e] = place{40.0 * std::cos(angle) + r * std::cos(a), 40.0 * std::sin(angle) + r * std::sin(a),
                             2 * std::numbers::pi * rng.unit(), enclave};
    };
    auto enclave_name = [](std::size_t e) { return "enclave-" + std::to_string(e); };

    // -- the nodes ------------------------------------------------------------
    std::size_t const population = o.substrates + o.transients;
    std::size_t const max_publications =
        (o.transient_publishers + o.substrate_publishers) *
            static_cast<std::size_t>(o.run / o.publish_every + 1) + 16;
    // Per node (substrates first), per publication: times delivered to the application.
    std::vector<std::vector<std::uint8_t>> got(population, std::vector<std::uint8_t>(max_publications, 0));
    std::vector<std::size_t> publisher_of; // per publication: its node
    std::vector<std::optional<time_point>> waiting_since(o.transients);
    std::vector<int> waiting_cause(o.transients, 0); // 1 goodbye, 2 crash
    std::vector<node_id> waiting_for_other_than(o.transients); // the substrate it lost
    substrate_result r;

    auto record_delivery = [&got, &publisher_of](std::size_t node, std::vector<std::byte> const& data) {
        if (data.size() < 8)
            return;
        std::uint64_t index = 0;
        std::memcpy(&index, data.data(), 8);
        if (index < publisher_of.size() && got[node][index] < 255)
            ++got[node][index];
    };

    std::vector<std::unique_ptr<substrate_node>> substrates;
    std::vector<std::unique_ptr<transient_node>> transients;
    std::vector<bool> substrate_up(o.substrates, true);

    for (std::size_t i = 0; i < o.substrates; ++i) {
        node_config cfg;
        cfg.engine<attach::substrate>().max_children = o.max_children;
        cfg.max_streams = std::max<std::size_t>(cfg.max_streams, o.max_children + 32); // a stream per child
        hierarchy::substrate_transient_config h;
        h.role = node_role::substrate;
        h.enclave = enclave_name(i % o.enclaves);
        auto& s = substrates.emplace_back(std::make_unique<substrate_node>(
            net, cfg, discovery::static_seeds{}, hierarchy::substrate_transient{h}));
        put(s->local_endpoint(), i % o.enclaves);
        s->on_event([&record_delivery, i](auto const& e) {
            if (auto const* p = std::get_if<attach::published>(&e))
                record_delivery(i, p->data);
        });
        s->start();
        if (i > 0)
            s->join(substrates[rng.below(i)]->local_endpoint());
        net.advance(100ms);
    }
    net.advance(60s);

    for (std::size_t i = 0; i < o.transients; ++i) {
        std::size_t const node = o.substrates + i;
        hierarchy::substrate_transient_config h;
        h.role = node_role::transient;
        h.enclave = enclave_name(i % o.enclaves);
        auto& t = transients.emplace_back(std::make_unique<transient_node>(
            net, node_config{}, discovery::static_seeds{}, hierarchy::substrate_transient{h}));
        put(t->local_endpoint(), i % o.enclaves);
        t->on_event([&, node, i](auto const& e) {
            if (auto const* p = std::get_if<attach::published>(&e)) {
                record_delivery(node, p->data);
            } else if (auto const* up = std::get_if<link_up>(&e)) {
                if (up->method == link_method::attached && waiting_since[i] && up->peer != waiting_for_other_than[i]) {
                    duration const took = net.now() - *waiting_since[i];
                    (waiting_cause[i] == 1 ? r.reattach_after_goodbye : r.reattach_after_crash).push_back(took);
                    waiting_since[i].reset();
                }
            }
        });
        t->start();
        t->join(substrates[rng.below(o.substrates)]->local_endpoint(wire::channel::stream));
        net.advance(30ms);
    }
    net.advance(60s);

    // -- the run --------------------------------------------------------------
    std::vector<std::size_t> publishers; // node numbers
    for (std::size_t i = 0; i < o.substrate_publishers && i < o.substrates; ++i)
        publishers.push_back(i * o.substrates / std::max<std::size_t>(1, o.substrate_publishers));
    for (std::size_t i = 0; i < o.transient_publishers && i < o.transients; ++i)
        publishers.push_back(o.substrates + i * o.transients / std::max<std::size_t>(1, o.transient_publishers));

    struct failure {
        time_point at;
        bool crash;
    };
    std::vector<failure> failures;
    // Crashes and shutdowns alternate, evenly spread over the run.
    std::size_t const n_failures = o.crashes + o.shutdowns;
    for (std::size_t k = 0, crashes = 0, shutdowns = 0; k < n_failures; ++k) {
        bool const crash = shutdowns >= o.shutdowns || (crashes < o.crashes && crashes <= shutdowns);
        (crash ? crashes : shutdowns) += 1;
        failures.push_back(
            {net.now() + o.run * static_cast<std::int64_t>(k + 1) / static_cast<std::int64_t>(n_failures + 1), crash});
    }
    std::size_t next_failure = 0;

    auto publish_from = [&](std::size_t node) {
        std::uint64_t const index = publisher_of.size();
        if (index >= max_publications)
            return;
        std::string const line = " line from node " + std::to_string(node);
        std::vector<std::byte> data(8 + line.size());
        std::memcpy(data.data(), &index, 8);
        std::memcpy(data.data() + 8, line.data(), line.size());
        publisher_of.push_back(node); // first: a substrate delivers its own publication inside `publish`
        std::error_code ec = node < o.substrates ? reference::publish(*substrates[node], data)
                                                 : reference::publish(*transients[node - o.substrates], data);
        if (ec)
            publisher_of.pop_back();
    };

    auto sample = [&](bool ratio) {
        for (std::size_t i = 0; i < o.substrates; ++i)
            if (substrate_up[i])
                r.max_children_seen =
                    std::max(r.max_children_seen, substrates[i]->engine<attach::substrate>().children().size());
        if (!ratio)
            return;
        for (std::size_t i = 0; i < o.transients; ++i) {
            auto const& a = transients[i]->engine<attach::transient>().attached();
            if (!a)
                continue;
            endpoint const self = transients[i]->local_endpoint();
            duration chosen{}, best = duration::max();
            for (std::size_t s = 0; s < o.substrates; ++s) {
                if (!substrate_up[s])
                    continue;
                duration const rtt = 2 * one_way(self, substrates[s]->local_endpoint(), net.now());
                if (substrates[s]->id() == a->id)
                    chosen = rtt;
                // The best it could have: same enclave, and room for one more child (or its own).
                bool const room = substrates[s]->engine<attach::substrate>().children().size() < o.max_children ||
                                  substrates[s]->id() == a->id;
                if (s % o.enclaves == i % o.enclaves && room)
                    best = std::min(best, rtt);
            }
            if (chosen.count() > 0 && best != duration::max()) {
                r.rtt_ratio.push_back(std::chrono::duration<double>(chosen) / std::chrono::duration<double>(best));
            }
        }
    };

    time_point const start = net.now(), end = start + o.run;
    time_point next_sample = start, next_ratio = start + 60s;
    std::vector<time_point> next_publish(publishers.size());
    for (std::size_t k = 0; k < publishers.size(); ++k)
        next_publish[k] = start + o.publish_every * static_cast<std::int64_t>(k) / static_cast<std::int64_t>(publishers.size());
    while (net.now() < end) {
        time_point const now = net.now();
        for (std::size_t k = 0; k < publishers.size(); ++k)
            if (now >= next_publish[k]) {
                std::size_t const p = publishers[k];
                if (p >= o.substrates || substrate_up[p])
                    publish_from(p);
                next_publish[k] += o.publish_every;
            }
        if (now >= next_sample) {
            bool const ratio = now >= next_ratio;
            sample(ratio);
            if (ratio)
                next_ratio += 60s;
            next_sample += 5s;
        }
        if (next_failure < failures.size() && now >= failures[next_failure].at) {
            bool const crash = failures[next_failure++].crash;
            std::vector<std::size_t> live;
            for (std::size_t s = 0; s < o.substrates; ++s)
                if (substrate_up[s] && std::find(publishers.begin(), publishers.end(), s) == publishers.end())
                    live.push_back(s);
            if (!live.empty()) {
                std::size_t const victim = live[rng.below(live.size())];
                // Its children: the transients attached to it now (not one that is leaving it for another).
                for (std::size_t i = 0; i < o.transients; ++i) {
                    auto const& a = transients[i]->engine<attach::transient>().attached();
                    if (a && a->id == substrates[victim]->id()) {
                        waiting_since[i] = now;
                        waiting_cause[i] = crash ? 2 : 1;
                        waiting_for_other_than[i] = a->id;
                    }
                }
                if (crash) {
                    net.crash(substrates[victim]->local_endpoint());
                } else {
                    reference::shutdown(*substrates[victim]);
                    net.advance(1ms); // the goodbyes leave before the node stops
                    substrates[victim]->stop();
                }
                substrate_up[victim] = false;
            }
        }
        net.advance(50ms);
        // A child that was moving away when its substrate went is back on the one it was leaving: no
        // `link_up` says so (that attachment never went down), so look.
        for (std::size_t i = 0; i < o.transients; ++i)
            if (waiting_since[i]) {
                auto const& a = transients[i]->engine<attach::transient>().attached();
                if (a && a->id != waiting_for_other_than[i] && !transients[i]->engine<attach::transient>().migrating()) {
                    (waiting_cause[i] == 1 ? r.reattach_after_goodbye : r.reattach_after_crash)
                        .push_back(net.now() - *waiting_since[i]);
                    waiting_since[i].reset();
                }
            }
    }
    net.advance(4min);

    // -- the figures ----------------------------------------------------------
    r.publications = publisher_of.size();
    for (std::size_t n = 0; n < population; ++n) {
        if (n < o.substrates && !substrate_up[n])
            continue;
        for (std::size_t p = 0; p < r.publications; ++p) {
            if (publisher_of[p] == n && n >= o.substrates)
                continue; // a transient's own publications do not come back to it
            ++r.owed;
            if (got[n][p] > 0) {
                ++r.delivered;
                r.duplicates += got[n][p] - 1u;
            }
        }
    }
    for (std::size_t p = 0; p < r.publications; ++p)
        for (std::size_t n = 0; n < population; ++n) {
            bool const live = n >= o.substrates || substrate_up[n];
            bool const own = publisher_of[p] == n && n >= o.substrates;
            if (live && !own && got[n][p] == 0) {
                ++r.lost;
                break;
            }
        }
    for (auto const& t : transients) {
        auto const& s = t->engine<attach::transient>().stats();
        r.migrations += s.migrations;
        r.migrations_failed += s.migrations_failed;
        r.flaps += s.flaps;
        r.publications_dropped += s.publications_dropped;
        r.detached_rounds += s.detached_rounds;
        // Sends beyond one per acknowledged publication: resends through a later attachment.
        r.publications_resent += s.publications_sent - std::min(s.publications_sent, s.publications_acknowledged);
    }
    for (std::size_t s = 0; s < o.substrates; ++s) {
        r.live_substrates += substrate_up[s] ? 1 : 0;
        r.caught_up += substrates[s]->engine<attach::substrate>().stats().caught_up;
        r.catch_up_incomplete += substrates[s]->engine<attach::substrate>().stats().catch_up_incomplete;
    }
    for (auto const& w : waiting_since)
        r.never_reattached += w ? 1 : 0;
    r.events = net.stats().events;
    r.simulated = net.now().time_since_epoch();
    r.trace_hash = net.trace_hash();
    return r;
}

} // namespace meshkit::tools

#endif // MESHKIT_TOOLS_MESHKIT_SIM_SUBSTRATE_SCENARIO_HPP

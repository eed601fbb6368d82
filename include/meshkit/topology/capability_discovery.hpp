// topology/capability_discovery.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_TOPOLOGY_CAPABILITY_DISCOVERY_HPP
#define MESHKIT_TOPOLOGY_CAPABILITY_DISCOVERY_HPP

#include <meshkit/concepts/discovery_strategy.hpp>
#include <meshkit/endpoint.hpp>
#include <meshkit/hierarchy/geo_position.hpp>
#include <meshkit/node_id.hpp>
#include <meshkit/time.hpp>
#include <meshkit/topology/beacon.hpp>
#include <meshkit/topology/beacon_observer.hpp>

#include <algorithm>
#include <cstddef>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

namespace meshkit::topology {

/// What a node must offer (every `required` capability) and what counts in its favour (each `optional` one).
struct capability_query {
    std::vector<std::string> required;
    std::vector<std::string> optional;

    /// How many optional capabilities `b` offers, or no value when it lacks a required one.
    [[nodiscard]] std::optional<std::size_t> matches(hm_beacon const& b) const
    {
        auto has = [&](std::string const& c) {
            return std::find(b.capabilities.begin(), b.capabilities.end(), c) != b.capabilities.end();
        };
        for (auto const& c : required)
            if (!has(c))
                return std::nullopt;
        return static_cast<std::size_t>(std::count_if(optional.begin(), optional.end(), has));
    }
};

/** Discovery by capability (Peat's capability queries): the nodes whose beacons offer what is asked, ranked.

    Models `meshkit::discovery_strategy`, fed with beacons
    (`observe_beacon`, which `topology::hierarchical_mesh` calls on its
    node's discovery policy). A node qualifies when it offers every
    required capability and is operational; qualified nodes rank by the
    optional capabilities they offer (most first), then nearest first,
    then by id. Bounded and aged as a `beacon_observer` is.
*/
class capability_discovery {
public:
    explicit capability_discovery(capability_query query, beacon_config cfg = beacon_config::distributed())
        : query_(std::move(query)), observer_(cfg)
    {
    }

    /// This node's position: distances are measured from it.
    void relocate(geo_position const& self) { observer_.relocate(self); }

    void observe_beacon(node_id const& id, endpoint const& from, hm_beacon const& b, time_point now)
    {
        (void)observer_.expire(now);
        (void)observer_.observe(id, from, b, now);
    }

    /// The qualified nodes, best first.
    [[nodiscard]] std::vector<observed_node const*> ranked() const
    {
        std::vector<std::pair<std::size_t, observed_node const*>> hits;
        for (auto const& n : observer_.nodes())
            if (n.beacon.operational)
                if (auto m = query_.matches(n.beacon))
                    hits.emplace_back(*m, &n);
        std::sort(hits.begin(), hits.end(), [](auto const& a, auto const& b) {
            return std::make_tuple(-static_cast<long long>(a.first), a.second->distance_m, a.second->id) <
                   std::make_tuple(-static_cast<long long>(b.first), b.second->distance_m, b.second->id);
        });
        std::vector<observed_node const*> out;
        for (auto const& h : hits)
            out.push_back(h.second);
        return out;
    }

    [[nodiscard]] std::vector<endpoint> candidates(std::size_t n) const
    {
        std::vector<endpoint> out;
        for (auto const* node : ranked()) {
            if (out.size() >= n)
                break;
            out.push_back(node->address);
        }
        return out;
    }

    /// Nothing to learn: beacons say who is there.
    void report(endpoint const&, contact_outcome) noexcept {}

    [[nodiscard]] capability_query const& query() const noexcept { return query_; }

private:
    capability_query query_;
    beacon_observer observer_;
};

static_assert(discovery_strategy<capability_discovery>);

} // namespace meshkit::topology

#endif // MESHKIT_TOPOLOGY_CAPABILITY_DISCOVERY_HPP

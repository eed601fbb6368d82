// topology/beacon_observer.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_TOPOLOGY_BEACON_OBSERVER_HPP
#define MESHKIT_TOPOLOGY_BEACON_OBSERVER_HPP

#include <meshkit/endpoint.hpp>
#include <meshkit/hierarchy/geo_position.hpp>
#include <meshkit/node_id.hpp>
#include <meshkit/time.hpp>
#include <meshkit/topology/beacon.hpp>
#include <meshkit/topology/beacon_config.hpp>

#include <algorithm>
#include <cstddef>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace meshkit::topology {

/// A node the observer tracks: its last beacon, where it came from, and when (this host's clock).
struct observed_node {
    node_id id;
    endpoint address;
    hm_beacon beacon;
    time_point heard{};
    /// From this node's own position, in metres, when the beacon arrived (or the node last moved).
    double distance_m = 0;
};

/// What `beacon_observer::observe` did with a beacon.
enum class observe_outcome : std::uint8_t {
    /** A node it did not track. */
    added = 1,
    /** A newer beacon of a node it tracks. */
    updated,
    /** No newer than what it holds (late, replayed or duplicated): ignored. */
    stale,
    /** From beyond the range: ignored (and forgotten, if it was tracked). */
    out_of_range,
    /** Full, and the sender is no nearer than the farthest node tracked: ignored. */
    full,
};

/** The beacons a node has heard: bounded, aged by its own clock, asked by distance, level or cell.

    Peat's BeaconObserver and janitor. A beacon replaces the one held for
    its node only when its `seq` is higher, so a replayed or reordered
    beacon changes nothing. When full, a new node displaces the farthest
    one tracked only if it is nearer; a flood of beacons from made-up ids
    therefore cannot push out the nodes next door. `expire` is the
    janitor.
*/
class beacon_observer {
public:
    explicit beacon_observer(beacon_config const& cfg = {}) : cfg_(cfg) {}

    /// This node's position: distances are measured from it.
    void relocate(geo_position const& self)
    {
        self_ = self;
        for (auto& n : nodes_)
            n.distance_m = distance_m(self_, n.beacon.position);
    }

    /// Takes a (sanitized) beacon from `id`, received from `from` at `now`.
    observe_outcome observe(node_id const& id, endpoint const& from, hm_beacon const& b, time_point now)
    {
        double const d = distance_m(self_, b.position);
        auto it = find_it(id);
        auto const range = cfg_.range_m();
        if (range && d > *range) {
            if (it != nodes_.end())
                nodes_.erase(it);
            return observe_outcome::out_of_range;
        }
        if (it != nodes_.end()) {
            if (b.seq <= it->beacon.seq)
                return observe_outcome::stale;
            it->address = from;
            it->beacon = b;
            it->heard = now;
            it->distance_m = d;
            return observe_outcome::updated;
        }
        if (nodes_.size() >= cfg_.capacity) {
            auto farthest = std::max_element(nodes_.begin(), nodes_.end(), [](auto const& a, auto const& c) {
                return std::tie(a.distance_m, a.id) < std::tie(c.distance_m, c.id);
            });
            if (farthest->distance_m <= d)
                return observe_outcome::full;
            nodes_.erase(farthest);
        }
        nodes_.push_back(observed_node{id, from, b, now, d});
        return observe_outcome::added;
    }

    /// The janitor: drops every node not heard for the TTL. @return their ids.
    std::vector<node_id> expire(time_point now)
    {
        std::vector<node_id> gone;
        std::erase_if(nodes_, [&](observed_node const& n) {
            if (now - n.heard < cfg_.ttl)
                return false;
            gone.push_back(n.id);
            return true;
        });
        return gone;
    }

    /// Stops tracking `id` (it left, or failed its retries). @return whether it was tracked.
    bool forget(node_id const& id)
    {
        auto it = find_it(id);
        if (it == nodes_.end())
            return false;
        nodes_.erase(it);
        return true;
    }

    [[nodiscard]] observed_node const* find(node_id const& id) const noexcept
    {
        auto it = std::find_if(nodes_.begin(), nodes_.end(), [&](auto const& n) { return n.id == id; });
        return it == nodes_.end() ? nullptr : &*it;
    }

    /// Every node tracked, in no particular order.
    [[nodiscard]] std::span<observed_node const> nodes() const noexcept { return nodes_; }
    [[nodiscard]] std::size_t size() const noexcept { return nodes_.size(); }

    /// The nodes within `radius_m`, nearest first (ties by id).
    [[nodiscard]] std::vector<observed_node const*> nearby(double radius_m) const
    {
        std::vector<observed_node const*> out;
        for (auto const& n : nodes_)
            if (n.distance_m <= radius_m)
                out.push_back(&n);
        std::sort(out.begin(), out.end(), [](auto const* a, auto const* b) {
            return std::tie(a->distance_m, a->id) < std::tie(b->distance_m, b->id);
        });
        return out;
    }

    /// The nodes whose geohash starts with `cell` (the same cell at that precision), by id.
    [[nodiscard]] std::vector<observed_node const*> in_cell(std::string_view cell) const
    {
        std::vector<observed_node const*> out;
        for (auto const& n : nodes_)
            if (std::string_view(n.beacon.geohash).starts_with(cell))
                out.push_back(&n);
        std::sort(out.begin(), out.end(), [](auto const* a, auto const* b) { return a->id < b->id; });
        return out;
    }

    [[nodiscard]] beacon_config const& config() const noexcept { return cfg_; }
    [[nodiscard]] geo_position const& position() const noexcept { return self_; }

private:
    std::vector<observed_node>::iterator find_it(node_id const& id)
    {
        return std::find_if(nodes_.begin(), nodes_.end(), [&](auto const& n) { return n.id == id; });
    }

    beacon_config cfg_;
    geo_position self_;
    std::vector<observed_node> nodes_;
};

} // namespace meshkit::topology

#endif // MESHKIT_TOPOLOGY_BEACON_OBSERVER_HPP

// topology/geographic_discovery.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_TOPOLOGY_GEOGRAPHIC_DISCOVERY_HPP
#define MESHKIT_TOPOLOGY_GEOGRAPHIC_DISCOVERY_HPP

#include <meshkit/concepts/discovery_strategy.hpp>
#include <meshkit/endpoint.hpp>
#include <meshkit/hierarchy/geo_position.hpp>
#include <meshkit/hierarchy/geohash.hpp>
#include <meshkit/node_id.hpp>
#include <meshkit/time.hpp>
#include <meshkit/topology/beacon.hpp>
#include <meshkit/topology/beacon_observer.hpp>

#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

namespace meshkit::topology {

/** Geographic self-organisation (Peat's geographic strategy): the nodes of one geohash cell form a group,
    and the lowest id leads it.

    Models `meshkit::discovery_strategy`, fed with beacons
    (`observe_beacon`). `candidates` are the other nodes of this node's
    cell (precision 7, about 153 m, by default), by id; `leader()` is the
    lowest id among them and this node, so every member names the same
    leader without a word exchanged; `formed()` says the group has at
    least `min_group_size` (Peat: 2) members. Beacons' geohashes are
    recomputed from their positions (`sanitize`), never trusted.
*/
class geographic_discovery {
public:
    explicit geographic_discovery(node_id self, geo_position where, std::size_t precision = 7,
                                  std::size_t min_group_size = 2)
        : self_(self), precision_(precision), min_group_(min_group_size), observer_(config(precision))
    {
        relocate(where);
    }

    /// This node moved: its cell may be another.
    void relocate(geo_position const& where)
    {
        cell_ = geohash(where, precision_);
        observer_.relocate(where);
    }

    void observe_beacon(node_id const& id, endpoint const& from, hm_beacon const& beacon, time_point now)
    {
        hm_beacon b = beacon;
        if (sanitize(b, precision_))
            return;
        (void)observer_.expire(now);
        (void)observer_.observe(id, from, b, now);
    }

    /// This node's cell.
    [[nodiscard]] std::string const& cell() const noexcept { return cell_; }

    /// The other nodes of this node's cell, by id.
    [[nodiscard]] std::vector<observed_node const*> members() const { return observer_.in_cell(cell_); }

    /// Who leads the cell: the lowest id among its members and this node.
    [[nodiscard]] node_id leader() const
    {
        auto m = members();
        return !m.empty() && m.front()->id < self_ ? m.front()->id : self_;
    }

    [[nodiscard]] bool formed() const { return members().size() + 1 >= min_group_; }

    [[nodiscard]] std::vector<endpoint> candidates(std::size_t n) const
    {
        std::vector<endpoint> out;
        for (auto const* m : members()) {
            if (out.size() >= n)
                break;
            out.push_back(m->address);
        }
        return out;
    }

    void report(endpoint const&, contact_outcome) noexcept {}

private:
    static beacon_config config(std::size_t precision)
    {
        beacon_config c;
        c.geohash_precision = precision;
        c.track_all = true;
        return c;
    }

    node_id self_;
    std::size_t precision_;
    std::size_t min_group_;
    beacon_observer observer_;
    std::string cell_;
};

static_assert(discovery_strategy<geographic_discovery>);

} // namespace meshkit::topology

#endif // MESHKIT_TOPOLOGY_GEOGRAPHIC_DISCOVERY_HPP

// topology/directed_discovery.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_TOPOLOGY_DIRECTED_DISCOVERY_HPP
#define MESHKIT_TOPOLOGY_DIRECTED_DISCOVERY_HPP

#include <meshkit/concepts/discovery_strategy.hpp>
#include <meshkit/endpoint.hpp>
#include <meshkit/hierarchy/geohash.hpp>
#include <meshkit/node_id.hpp>
#include <meshkit/time.hpp>
#include <meshkit/topology/beacon.hpp>
#include <meshkit/topology/beacon_observer.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace meshkit::topology {

/// Where a directed assignment stands.
enum class assignment_state : std::uint8_t {
    /** No cell assigned. */
    unassigned = 1,
    /** Assigned; no member of the cell heard yet. */
    pending,
    /** Members heard, fewer than the group needs. */
    in_progress,
    /** The group has formed. */
    done,
    /** The timeout passed before it formed: assign again to retry. */
    failed,
};

/** Directed assignment (Peat's C2-directed CellAssignment): an operator assigns the node a cell, and the node
    joins the nodes there.

    Models `meshkit::discovery_strategy`, fed with beacons
    (`observe_beacon`). `assign(cell, now)` takes a geohash prefix (any
    precision): pending until a node of the cell is heard, in progress
    until `min_group_size` (2, this node included) are, then done; failed
    when `timeout` (60 s, Peat's bootstrap timeout) passes first, and
    `assign` again retries. `candidates` are the cell's nodes by id.
*/
class directed_discovery {
public:
    explicit directed_discovery(std::size_t min_group_size = 2, duration timeout = std::chrono::seconds(60))
        : min_group_(min_group_size), timeout_(timeout), observer_(config())
    {
    }

    /// @throws std::invalid_argument when `cell` is not a geohash.
    void assign(std::string cell, time_point now)
    {
        if (!is_geohash(cell))
            throw std::invalid_argument("meshkit: directed_discovery::assign: the cell is not a geohash");
        cell_ = std::move(cell);
        assigned_at_ = now;
        state_ = assignment_state::pending;
        update(now);
    }

    void observe_beacon(node_id const& id, endpoint const& from, hm_beacon const& beacon, time_point now)
    {
        hm_beacon b = beacon;
        if (sanitize(b, max_geohash_precision))
            return;
        (void)observer_.expire(now);
        (void)observer_.observe(id, from, b, now);
        update(now);
    }

    /// Moves the state on by the clock (the timeout) and what has been heard.
    assignment_state update(time_point now)
    {
        if (state_ != assignment_state::pending && state_ != assignment_state::in_progress)
            return state_;
        std::size_t const heard = observer_.in_cell(cell_).size();
        if (heard + 1 >= min_group_)
            state_ = assignment_state::done;
        else if (now - assigned_at_ >= timeout_)
            state_ = assignment_state::failed;
        else if (heard > 0)
            state_ = assignment_state::in_progress;
        return state_;
    }

    [[nodiscard]] assignment_state state() const noexcept { return state_; }
    [[nodiscard]] std::string const& cell() const noexcept { return cell_; }

    [[nodiscard]] std::vector<endpoint> candidates(std::size_t n) const
    {
        std::vector<endpoint> out;
        if (state_ == assignment_state::unassigned)
            return out;
        for (auto const* m : observer_.in_cell(cell_)) {
            if (out.size() >= n)
                break;
            out.push_back(m->address);
        }
        return out;
    }

    void report(endpoint const&, contact_outcome) noexcept {}

private:
    static beacon_config config()
    {
        beacon_config c;
        c.geohash_precision = max_geohash_precision;
        c.track_all = true;
        return c;
    }

    std::size_t min_group_;
    duration timeout_;
    beacon_observer observer_;
    std::string cell_;
    time_point assigned_at_{};
    assignment_state state_ = assignment_state::unassigned;
};

static_assert(discovery_strategy<directed_discovery>);

} // namespace meshkit::topology

#endif // MESHKIT_TOPOLOGY_DIRECTED_DISCOVERY_HPP

// topology/parent_selector.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_TOPOLOGY_PARENT_SELECTOR_HPP
#define MESHKIT_TOPOLOGY_PARENT_SELECTOR_HPP

#include <meshkit/hierarchy/mobility.hpp>
#include <meshkit/topology/beacon_observer.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <tuple>
#include <vector>

namespace meshkit::topology {

/** How a node weighs candidate parents, and how far it looks: Peat's PeerSelector settings and presets.

    score = mobility·w_m + resources·w_r + battery·w_b + proximity·w_p,
    proximity = exp(−d / (max(range, 1 km) / 3)); an input a beacon does
    not carry scores 0.5.
*/
struct selection_config {
    double mobility_weight = 0.3;
    double resources_weight = 0.3;
    double battery_weight = 0.2;
    double proximity_weight = 0.2;
    /// Candidates farther than this are not considered (metres).
    double max_distance_m = 10'000;

    /// Peat's default: 0.3 / 0.3 / 0.2 / 0.2 within 10 km.
    static selection_config standard() { return {}; }
    /// Peat's tactical preset: 0.4 / 0.25 / 0.15 / 0.2 within 2 km (steadiness first).
    static selection_config tactical() { return {0.4, 0.25, 0.15, 0.2, 2'000}; }
    /// Peat's distributed preset: 0.2 / 0.4 / 0.2 / 0.2 (resources first), within 10 km.
    static selection_config distributed() { return {0.2, 0.4, 0.2, 0.2, 10'000}; }

    /// @throws std::invalid_argument for a negative weight, weights that sum to 0, or a range that is not positive.
    void validate() const
    {
        if (mobility_weight < 0 || resources_weight < 0 || battery_weight < 0 || proximity_weight < 0)
            throw std::invalid_argument("meshkit: selection_config weights must be >= 0");
        if (!(mobility_weight + resources_weight + battery_weight + proximity_weight > 0))
            throw std::invalid_argument("meshkit: selection_config weights must not all be 0");
        if (!(max_distance_m > 0))
            throw std::invalid_argument("meshkit: selection_config::max_distance_m must be positive");
    }
};

/// A candidate parent and its score.
struct parent_candidate {
    observed_node const* node = nullptr;
    double score = 0;
};

/** Scores candidate parents and ranks them.

    Candidates are the operational nodes that may take children, within
    range, above this node's level; of those, only the lowest level above
    it that has any (a squad member picks a squad leader, and a platoon
    leader only when no squad leader is in reach), so the hierarchy keeps
    its shape. Ties in score break by id, so every node that sees the
    same beacons ranks them the same.
*/
class parent_selector {
public:
    explicit parent_selector(selection_config const& cfg = {}) : cfg_(cfg) {}

    /// The score of `n` as a parent, in [0, 1] when the weights sum to 1.
    [[nodiscard]] double score(observed_node const& n) const noexcept
    {
        hm_beacon const& b = n.beacon;
        double const m = b.mobility ? mobility_score(*b.mobility) : 0.5;
        double const r = b.resources ? b.resources->spare_score() : 0.5;
        double const bat = b.resources ? b.resources->battery_score() : 0.5;
        double const scale = std::max(cfg_.max_distance_m, 1'000.0) / 3.0;
        double const p = std::exp(-n.distance_m / scale);
        return cfg_.mobility_weight * m + cfg_.resources_weight * r + cfg_.battery_weight * bat +
               cfg_.proximity_weight * p;
    }

    /// Whether `n` may be this node's parent at all.
    [[nodiscard]] bool eligible(observed_node const& n, std::uint8_t own_level) const noexcept
    {
        return n.beacon.operational && n.beacon.can_parent && n.beacon.level > own_level &&
               n.distance_m <= cfg_.max_distance_m;
    }

    /// The candidates for a node at `own_level`, best first (see the class comment); `excluded` is skipped.
    [[nodiscard]] std::vector<parent_candidate> rank(std::span<observed_node const> nodes, std::uint8_t own_level,
                                                     std::span<node_id const> excluded = {}) const
    {
        std::optional<std::uint8_t> nearest_level;
        for (auto const& n : nodes)
            if (eligible(n, own_level) && !is_excluded(n.id, excluded) &&
                (!nearest_level || n.beacon.level < *nearest_level))
                nearest_level = n.beacon.level;
        std::vector<parent_candidate> out;
        if (!nearest_level)
            return out;
        for (auto const& n : nodes)
            if (eligible(n, own_level) && n.beacon.level == *nearest_level && !is_excluded(n.id, excluded))
                out.push_back(parent_candidate{&n, score(n)});
        std::sort(out.begin(), out.end(), [](parent_candidate const& a, parent_candidate const& b) {
            return std::make_tuple(-a.score, a.node->id) < std::make_tuple(-b.score, b.node->id);
        });
        return out;
    }

    [[nodiscard]] selection_config const& config() const noexcept { return cfg_; }

private:
    static bool is_excluded(node_id const& id, std::span<node_id const> excluded) noexcept
    {
        return std::find(excluded.begin(), excluded.end(), id) != excluded.end();
    }

    selection_config cfg_;
};

} // namespace meshkit::topology

#endif // MESHKIT_TOPOLOGY_PARENT_SELECTOR_HPP

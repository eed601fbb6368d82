// hierarchy/election.hpp
// ~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_HIERARCHY_ELECTION_HPP
#define MESHKIT_HIERARCHY_ELECTION_HPP

#include <meshkit/hierarchy/attachment_option.hpp>
#include <meshkit/hierarchy/mobility.hpp>
#include <meshkit/hierarchy/node_resources.hpp>
#include <meshkit/hierarchy/node_role.hpp>
#include <meshkit/node_id.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <tuple>

namespace meshkit {

/// How much each trait counts when same-level peers elect a leader (Peat's 0.4 / 0.4 / 0.2).
struct election_weights {
    double mobility = 0.4;
    double resources = 0.4;
    double battery = 0.2;
};

/// What a node's fitness to lead is computed from: what its beacon says of it.
struct election_input {
    std::optional<meshkit::mobility> mobility;
    std::optional<node_resources> resources;
};

/** A node's fitness to lead, in [0, 1]: the weighted mobility, spare resources and battery.

    An input the node did not report counts 0.5, so a silent node is
    neither favoured nor shut out.
*/
[[nodiscard]] inline double election_score(election_input const& in, election_weights const& w = {}) noexcept
{
    double const m = in.mobility ? mobility_score(*in.mobility) : 0.5;
    double const r = in.resources ? in.resources->spare_score() : 0.5;
    double const b = in.resources ? in.resources->battery_score() : 0.5;
    return w.mobility * m + w.resources * r + w.battery * b;
}

/// A peer at this node's base level, as a hierarchy strategy sees it when it reconsiders the node's role.
struct level_peer {
    node_id id;
    election_input input;
    /// The role its last beacon claimed.
    node_role role = node_role::member;
};

/** What the node sees around it when its hierarchy strategy reconsiders role and level.

    Built by the topology engine from the beacons it holds, every
    evaluation; the strategy decides, the engine acts.
*/
struct level_view {
    node_id self;
    election_input own;
    /// Whether this node can take children at all (its beacon's `can_parent`).
    bool can_parent = true;
    /// Operational peers with the node's base level, within range (promoted ones included).
    std::span<level_peer const> same_level;
    /// Operational nodes above the node's current level, within range.
    std::size_t higher_level = 0;
    /// Operational nodes above the node's base level that hold their level natively (not promoted).
    std::size_t higher_level_native = 0;
};

/// Whether `candidate` beats `current` by more than `hysteresis` (0.1: by more than 10 %).
[[nodiscard]] constexpr bool outscores(double candidate, double current, double hysteresis) noexcept
{
    return candidate > current * (1.0 + hysteresis);
}

/** Peat's rule for a parent, shared by the levelled strategies: only a candidate above `own_level`; with
    a parent, only a different one that outscores it by more than `hysteresis`. */
[[nodiscard]] inline bool levelled_move(std::uint8_t own_level, std::optional<attachment_option> const& current,
                                        attachment_option const& candidate, double hysteresis) noexcept
{
    if (candidate.level <= own_level)
        return false;
    if (!current)
        return true;
    return candidate.id != current->id && outscores(candidate.score, current->score, hysteresis);
}

/// Whether this node ranks above every peer of `v` by election score, then id (roles aside).
[[nodiscard]] inline bool ranks_first(level_view const& v, election_weights const& w = {}) noexcept
{
    auto const self_rank = std::make_tuple(election_score(v.own, w), v.self);
    for (level_peer const& p : v.same_level)
        if (std::make_tuple(election_score(p.input, w), p.id) > self_rank)
            return false;
    return true;
}

/** The role a node takes among its same-level peers: Peat's election, made to always name one leader.

    Peat makes a node leader when its score is at least 1.1 × the best
    peer's, and member otherwise, so two peers within 10 % of each other
    are both members and the level has no leader. Here a leader keeps the
    role until a peer outscores it by more than `hysteresis`, or another
    leader ranks above it (score, then id); a member becomes leader when
    it ranks above every peer (score, then id, so ties break the same way
    on every node) and no leader among them holds on by hysteresis. No
    peers: `standalone`. Every node sees the same beacons, so every node
    reaches the same answer.
*/
[[nodiscard]] inline node_role elect(level_view const& v, bool currently_leader, double hysteresis,
                                     election_weights const& w = {}) noexcept
{
    if (v.same_level.empty())
        return node_role::standalone;
    double const own = election_score(v.own, w);
    auto const self_rank = std::make_tuple(own, v.self);
    if (currently_leader) {
        for (level_peer const& p : v.same_level) {
            double const s = election_score(p.input, w);
            if (outscores(s, own, hysteresis))
                return node_role::member;
            if (p.role == node_role::leader && std::make_tuple(s, p.id) > self_rank)
                return node_role::member;
        }
        return node_role::leader;
    }
    for (level_peer const& p : v.same_level) {
        double const s = election_score(p.input, w);
        if (std::make_tuple(s, p.id) > self_rank)
            return node_role::member;
        if (p.role == node_role::leader && !outscores(own, s, hysteresis))
            return node_role::member; // a sitting leader within the margin keeps the role
    }
    return node_role::leader;
}

} // namespace meshkit

#endif // MESHKIT_HIERARCHY_ELECTION_HPP

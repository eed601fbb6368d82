// hierarchy/static_strategy.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_HIERARCHY_STATIC_STRATEGY_HPP
#define MESHKIT_HIERARCHY_STATIC_STRATEGY_HPP

#include <meshkit/concepts/hierarchy_strategy.hpp>
#include <meshkit/hierarchy/attachment_option.hpp>
#include <meshkit/hierarchy/election.hpp>
#include <meshkit/hierarchy/node_role.hpp>
#include <meshkit/node_id.hpp>

#include <cstdint>
#include <optional>
#include <stdexcept>

namespace meshkit::hierarchy {

/// The settings of `static_strategy`.
struct static_strategy_config {
    /// The node's level: 0 is the leaf (Peat: platform 0, squad 1, platoon 2, company 3).
    std::uint8_t level = 0;
    /// `leader` or `member`.
    node_role role = node_role::member;
    /// A new parent must score more than this much above the current one (0.1: 10 %).
    double switch_hysteresis = 0.1;
    /// Never used to move; the election weights a topology engine reports in beacons.
    election_weights weights;

    /// @throws std::invalid_argument for a role other than leader or member, or a negative hysteresis.
    void validate() const
    {
        if (role != node_role::leader && role != node_role::member)
            throw std::invalid_argument("meshkit: static_strategy_config::role must be leader or member");
        if (!(switch_hysteresis >= 0))
            throw std::invalid_argument("meshkit: static_strategy_config::switch_hysteresis must be >= 0");
    }
};

/** Peat's static hierarchy: a level and a role fixed by configuration, and nothing ever changes them.

    Models `meshkit::hierarchy_strategy` (and what `topology::hierarchical_mesh`
    asks of a strategy: `base_level`, `promoted`, `reassess`). For
    deployments planned in advance: the command post is level 3, each
    vehicle level 1. Parents still change by score (`justifies_move`:
    only a higher level, and more than `switch_hysteresis` better than the
    current parent), which is the topology engine's to apply; a cell cut
    off from the levels above keeps its configured leaders and buffers
    what must go up.
*/
class static_strategy {
public:
    static_strategy() = default;
    /// @throws std::invalid_argument when `config` fails `validate()`.
    explicit static_strategy(static_strategy_config config) : config_(config) { config_.validate(); }

    [[nodiscard]] node_role role() const noexcept { return config_.role; }
    [[nodiscard]] std::uint8_t level() const noexcept { return config_.level; }
    [[nodiscard]] std::uint8_t base_level() const noexcept { return config_.level; }
    [[nodiscard]] bool promoted() const noexcept { return false; }
    [[nodiscard]] std::optional<node_id> parent() const noexcept { return parent_; }
    [[nodiscard]] election_weights const& weights() const noexcept { return config_.weights; }
    [[nodiscard]] static_strategy_config const& config() const noexcept { return config_; }

    /// Only a higher level; with a parent, only one that outscores it by the hysteresis.
    [[nodiscard]] bool justifies_move(std::optional<attachment_option> const& current,
                                      attachment_option const& candidate) const noexcept
    {
        return levelled_move(level(), current, candidate, config_.switch_hysteresis);
    }

    void attach(node_id const& id) noexcept { parent_ = id; }
    void detach() noexcept { parent_.reset(); }

    /// Nothing moves a static node: @return false (no change).
    bool reassess(level_view const&) noexcept { return false; }

private:
    static_strategy_config config_;
    std::optional<node_id> parent_;
};

static_assert(hierarchy_strategy<static_strategy>);

} // namespace meshkit::hierarchy

#endif // MESHKIT_HIERARCHY_STATIC_STRATEGY_HPP

// hierarchy/hybrid_strategy.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_HIERARCHY_HYBRID_STRATEGY_HPP
#define MESHKIT_HIERARCHY_HYBRID_STRATEGY_HPP

#include <meshkit/concepts/hierarchy_strategy.hpp>
#include <meshkit/hierarchy/attachment_option.hpp>
#include <meshkit/hierarchy/election.hpp>
#include <meshkit/hierarchy/node_role.hpp>
#include <meshkit/node_id.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>

namespace meshkit::hierarchy {

/// The settings of `hybrid_strategy`: a static baseline and the rules that move it.
struct hybrid_strategy_config {
    /// The planned level and role (`leader` or `member`), held while the rules do not fire.
    std::uint8_t level = 0;
    node_role role = node_role::member;
    /// The highest level in the deployment: never promoted above it.
    std::uint8_t max_level = 3;
    double hysteresis = 0.1;
    election_weights weights;
    /// Promotion: nothing above in range and at least this many same-level peers (Peat's rule and default).
    std::size_t min_peers_for_promotion = 0;
    /// Demotion: at least this many native higher-level nodes in range again (Peat's rule, which Peat never ran).
    std::size_t demote_at_higher_level = 2;
    /// Reassessments in a row that must find the promotion rule true before it fires.
    std::uint32_t promotion_hold = 3;

    /// @throws std::invalid_argument for a role other than leader or member, a level above `max_level`,
    /// a negative hysteresis or a demotion threshold of 0.
    void validate() const
    {
        if (role != node_role::leader && role != node_role::member)
            throw std::invalid_argument("meshkit: hybrid_strategy_config::role must be leader or member");
        if (level > max_level)
            throw std::invalid_argument("meshkit: hybrid_strategy_config::level is above max_level");
        if (!(hysteresis >= 0))
            throw std::invalid_argument("meshkit: hybrid_strategy_config::hysteresis must be >= 0");
        if (demote_at_higher_level == 0)
            throw std::invalid_argument("meshkit: hybrid_strategy_config::demote_at_higher_level must be >= 1");
    }
};

/** Peat's hybrid hierarchy, with both of its rules running: a planned level that gives way when it must.

    Models `meshkit::hierarchy_strategy`. The node holds its configured
    level and role until:
    - **promotion**: nothing above its level is in range, it can parent,
      it has at least `min_peers_for_promotion` same-level peers, and it
      ranks first among them by score, then id (`ranks_first`: planned
      roles aside, so exactly one of them promotes),
      `promotion_hold` reassessments in a row: it takes the level above
      as a leader;
    - **demotion**: `demote_at_higher_level` (2) nodes that hold a higher
      level natively are in range again: back to the plan. Requiring two
      keeps one passing node from undoing the promotion.
*/
class hybrid_strategy {
public:
    hybrid_strategy() = default;
    /// @throws std::invalid_argument when `config` fails `validate()`.
    explicit hybrid_strategy(hybrid_strategy_config config) : config_(config) { config_.validate(); }

    [[nodiscard]] node_role role() const noexcept { return promoted_ ? node_role::leader : config_.role; }
    [[nodiscard]] std::uint8_t level() const noexcept
    {
        return static_cast<std::uint8_t>(config_.level + (promoted_ ? 1 : 0));
    }
    [[nodiscard]] std::uint8_t base_level() const noexcept { return config_.level; }
    [[nodiscard]] bool promoted() const noexcept { return promoted_; }
    [[nodiscard]] std::optional<node_id> parent() const noexcept { return parent_; }
    [[nodiscard]] election_weights const& weights() const noexcept { return config_.weights; }
    [[nodiscard]] hybrid_strategy_config const& config() const noexcept { return config_; }

    /// Only a higher level; with a parent, only one that outscores it by the hysteresis.
    [[nodiscard]] bool justifies_move(std::optional<attachment_option> const& current,
                                      attachment_option const& candidate) const noexcept
    {
        return levelled_move(level(), current, candidate, config_.hysteresis);
    }

    void attach(node_id const& id) noexcept { parent_ = id; }
    void detach() noexcept { parent_.reset(); }

    /// Applies the promotion and demotion rules. @return whether the role or the level changed.
    bool reassess(level_view const& v) noexcept
    {
        if (promoted_) {
            if (v.higher_level_native >= config_.demote_at_higher_level) {
                promoted_ = false;
                return true;
            }
            return false;
        }
        if (v.higher_level == 0 && v.can_parent && config_.level < config_.max_level &&
            v.same_level.size() >= config_.min_peers_for_promotion && ranks_first(v, config_.weights)) {
            if (++rule_held_ < config_.promotion_hold)
                return false;
            rule_held_ = 0;
            promoted_ = true;
            return true;
        }
        rule_held_ = 0;
        return false;
    }

private:
    hybrid_strategy_config config_;
    bool promoted_ = false;
    std::uint32_t rule_held_ = 0;
    std::optional<node_id> parent_;
};

static_assert(hierarchy_strategy<hybrid_strategy>);

} // namespace meshkit::hierarchy

#endif // MESHKIT_HIERARCHY_HYBRID_STRATEGY_HPP

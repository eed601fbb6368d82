// hierarchy/dynamic_strategy.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_HIERARCHY_DYNAMIC_STRATEGY_HPP
#define MESHKIT_HIERARCHY_DYNAMIC_STRATEGY_HPP

#include <meshkit/concepts/hierarchy_strategy.hpp>
#include <meshkit/hierarchy/attachment_option.hpp>
#include <meshkit/hierarchy/election.hpp>
#include <meshkit/hierarchy/node_role.hpp>
#include <meshkit/node_id.hpp>

#include <cstdint>
#include <optional>
#include <stdexcept>

namespace meshkit::hierarchy {

/// The settings of `dynamic_strategy`.
struct dynamic_strategy_config {
    /// The level the node holds natively; promotion takes it one above.
    std::uint8_t base_level = 0;
    /// The highest level in the deployment: a node there has nothing above it to miss, and never promotes.
    std::uint8_t max_level = 3;
    /// Margins: a sitting leader or parent is displaced only by more than this much (Peat: 0.1).
    double hysteresis = 0.1;
    election_weights weights;
    /// Whether a leader promotes itself one level when nothing above its level is in range.
    bool allow_promotion = true;
    /** Reassessments in a row that must find nothing above before it promotes: a beacon or two lost in a
        row is not a missing level. */
    std::uint32_t promotion_hold = 3;

    /// @throws std::invalid_argument for a base level above `max_level` or a negative hysteresis.
    void validate() const
    {
        if (base_level > max_level)
            throw std::invalid_argument("meshkit: dynamic_strategy_config::base_level is above max_level");
        if (!(hysteresis >= 0))
            throw std::invalid_argument("meshkit: dynamic_strategy_config::hysteresis must be >= 0");
    }
};

/** Peat's dynamic hierarchy, with the promotion Peat left as a comment: roles elected, levels that move.

    Models `meshkit::hierarchy_strategy`. Every evaluation the node's
    topology engine hands it what it sees (`reassess`):
    - **Role**: `elect` among the operational peers with the same base
      level: standalone with none, leader if it ranks first (and holds
      on by the hysteresis), member otherwise.
    - **Promotion**: a leader that can parent and sees nothing above its
      base level (`promotion_hold` reassessments in a row) takes the level above (`promoted()`), so its peers have
      a parent: the cell of a partition, or a level nobody was deployed
      to, keeps a hierarchy. Never above `max_level`, never more than one
      level.
    - **Demotion**: as soon as a node that holds a higher level natively
      is in range again, back to the base level.
    Parents move by score with the same hysteresis (`justifies_move`).
*/
class dynamic_strategy {
public:
    dynamic_strategy() = default;
    /// @throws std::invalid_argument when `config` fails `validate()`.
    explicit dynamic_strategy(dynamic_strategy_config config) : config_(config) { config_.validate(); }

    [[nodiscard]] node_role role() const noexcept { return role_; }
    [[nodiscard]] std::uint8_t level() const noexcept
    {
        return static_cast<std::uint8_t>(config_.base_level + (promoted_ ? 1 : 0));
    }
    [[nodiscard]] std::uint8_t base_level() const noexcept { return config_.base_level; }
    [[nodiscard]] bool promoted() const noexcept { return promoted_; }
    [[nodiscard]] std::optional<node_id> parent() const noexcept { return parent_; }
    [[nodiscard]] election_weights const& weights() const noexcept { return config_.weights; }
    [[nodiscard]] dynamic_strategy_config const& config() const noexcept { return config_; }

    /// Only a higher level; with a parent, only one that outscores it by the hysteresis.
    [[nodiscard]] bool justifies_move(std::optional<attachment_option> const& current,
                                      attachment_option const& candidate) const noexcept
    {
        return levelled_move(level(), current, candidate, config_.hysteresis);
    }

    void attach(node_id const& id) noexcept { parent_ = id; }
    void detach() noexcept { parent_.reset(); }

    /// Elects, then promotes or demotes. @return whether the role or the level changed.
    bool reassess(level_view const& v) noexcept
    {
        node_role const old_role = role_;
        bool const was_promoted = promoted_;
        role_ = elect(v, role_ == node_role::leader, config_.hysteresis, config_.weights);
        if (promoted_) {
            if (v.higher_level_native > 0 || role_ != node_role::leader)
                promoted_ = false;
        } else if (config_.allow_promotion && role_ == node_role::leader && v.can_parent &&
                   config_.base_level < config_.max_level && v.higher_level == 0) {
            promoted_ = ++nothing_above_ >= config_.promotion_hold;
        } else {
            nothing_above_ = 0;
        }
        if (promoted_)
            nothing_above_ = 0;
        return role_ != old_role || promoted_ != was_promoted;
    }

private:
    dynamic_strategy_config config_;
    node_role role_ = node_role::standalone;
    bool promoted_ = false;
    std::uint32_t nothing_above_ = 0;
    std::optional<node_id> parent_;
};

static_assert(hierarchy_strategy<dynamic_strategy>);

} // namespace meshkit::hierarchy

#endif // MESHKIT_HIERARCHY_DYNAMIC_STRATEGY_HPP

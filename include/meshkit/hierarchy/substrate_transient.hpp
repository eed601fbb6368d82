// hierarchy/substrate_transient.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_HIERARCHY_SUBSTRATE_TRANSIENT_HPP
#define MESHKIT_HIERARCHY_SUBSTRATE_TRANSIENT_HPP

#include <meshkit/concepts/hierarchy_strategy.hpp>
#include <meshkit/hierarchy/attachment_option.hpp>
#include <meshkit/hierarchy/node_role.hpp>
#include <meshkit/node_id.hpp>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

namespace meshkit::hierarchy {

/// The settings of `substrate_transient`: the node's role and enclave, and REPRAM's anti-flap rule.
struct substrate_transient_config {
    /// `substrate` (joins the flat mesh, never moves) or `transient` (attaches to one substrate).
    node_role role = node_role::transient;
    /// The node's enclave (region, site): same-enclave substrates come first.
    std::string enclave = "default";
    /// A candidate must be this much faster (0.25: its RTT below 75 % of the current one's).
    double min_improvement = 0.25;
    /// Evaluation cycles in a row the same candidate must win before the node moves.
    std::uint32_t hold_cycles = 2;
    /// Evaluation cycles after an attachment during which no move is considered.
    std::uint32_t cooldown_cycles = 1;

    /** @throws std::invalid_argument for a role other than substrate or transient, an enclave name over 64
        bytes (what the attachment protocol carries), or an improvement outside [0, 1).
    */
    void validate() const
    {
        if (enclave.size() > 64)
            throw std::invalid_argument("meshkit: substrate_transient_config::enclave is longer than 64 bytes");
        if (role != node_role::substrate && role != node_role::transient)
            throw std::invalid_argument("meshkit: substrate_transient_config::role must be substrate or transient");
        if (!(min_improvement >= 0 && min_improvement < 1))
            throw std::invalid_argument("meshkit: substrate_transient_config::min_improvement must be in [0, 1)");
    }
};

/** REPRAM's substrate/transient hierarchy: substrates form the flat mesh, transients attach to one substrate each.

    Models `meshkit::hierarchy_strategy`. A substrate is at level 1 and
    never attaches; a transient is at level 0 with at most one parent. The
    rule for a move is REPRAM Discovery Protocol v2's, which REPRAM's code
    never built: the candidate must be more than `min_improvement` (25 %)
    faster, or in this node's enclave when the current one is not
    (`justifies_move`), and it must win `hold_cycles` (2) evaluation
    cycles in a row, with no move for `cooldown_cycles` (1) after an
    attachment (`evaluate`). The attachment engine measures; this type
    decides.
*/
class substrate_transient {
public:
    substrate_transient() = default;

    /// @throws std::invalid_argument when `config` fails `validate()`.
    explicit substrate_transient(substrate_transient_config config) : config_(std::move(config))
    {
        config_.validate();
    }

    [[nodiscard]] node_role role() const noexcept { return config_.role; }
    [[nodiscard]] std::uint8_t level() const noexcept { return config_.role == node_role::substrate ? 1 : 0; }
    [[nodiscard]] std::optional<node_id> parent() const noexcept { return parent_; }
    [[nodiscard]] substrate_transient_config const& config() const noexcept { return config_; }

    /** Whether `candidate` beats `current` by the rule, in one evaluation.

        A substrate never moves. With no current attachment any candidate
        does. Otherwise: same enclave against another enclave wins; between
        two of the same standing, the candidate must be more than
        `min_improvement` faster (an unmeasured RTT never wins on speed).
    */
    [[nodiscard]] bool justifies_move(std::optional<attachment_option> const& current,
                                      attachment_option const& candidate) const noexcept
    {
        if (config_.role != node_role::transient)
            return false;
        if (!current)
            return true;
        if (candidate.id == current->id)
            return false;
        if (candidate.same_enclave != current->same_enclave)
            return candidate.same_enclave;
        if (candidate.rtt.count() <= 0 || current->rtt.count() <= 0)
            return false;
        return static_cast<double>(candidate.rtt.count()) <
               (1.0 - config_.min_improvement) * static_cast<double>(current->rtt.count());
    }

    /** One evaluation cycle: whether to move from `current` to `best` now.

        True once `best` has justified a move `hold_cycles` cycles in a row
        (a different winner starts the count again) and the cooldown since
        the last attachment is over. A cycle with no better candidate
        resets the count.
    */
    [[nodiscard]] bool evaluate(std::optional<attachment_option> const& current,
                                std::optional<attachment_option> const& best) noexcept
    {
        if (cooldown_left_ > 0) {
            --cooldown_left_;
            streak_ = 0;
            return false;
        }
        if (!best || !justifies_move(current, *best)) {
            streak_ = 0;
            return false;
        }
        if (streak_ == 0 || streak_candidate_ != best->id) {
            streak_candidate_ = best->id;
            streak_ = 0;
        }
        ++streak_;
        return streak_ >= config_.hold_cycles;
    }

    /// The node is now attached to `id`: the cooldown starts.
    void attach(node_id const& id) noexcept
    {
        parent_ = id;
        streak_ = 0;
        cooldown_left_ = config_.cooldown_cycles;
    }

    /// The node is attached to nothing.
    void detach() noexcept
    {
        parent_.reset();
        streak_ = 0;
    }

private:
    substrate_transient_config config_;
    std::optional<node_id> parent_;
    node_id streak_candidate_{};
    std::uint32_t streak_ = 0;
    std::uint32_t cooldown_left_ = 0;
};

static_assert(hierarchy_strategy<substrate_transient>);

} // namespace meshkit::hierarchy

#endif // MESHKIT_HIERARCHY_SUBSTRATE_TRANSIENT_HPP

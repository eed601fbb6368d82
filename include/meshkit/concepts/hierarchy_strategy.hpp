// concepts/hierarchy_strategy.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_CONCEPTS_HIERARCHY_STRATEGY_HPP
#define MESHKIT_CONCEPTS_HIERARCHY_STRATEGY_HPP

#include <meshkit/hierarchy/attachment_option.hpp>
#include <meshkit/hierarchy/node_role.hpp>
#include <meshkit/node_id.hpp>

#include <concepts>
#include <cstdint>
#include <optional>

namespace meshkit {

/** What role and level a node has, whom it attaches to, and when to move.

    Engines read it and write it through their context (`ctx.hierarchy()`):
    an attachment or parent-selection engine measures candidates, asks the
    strategy whether one justifies a move, and records the attachment it
    made. The strategy owns the policy (hysteresis, levels, roles); the
    engines own the protocol.

    A type `H` models `hierarchy_strategy` if, for `h` an `H`, `ch` an
    `H const`, `id` a `node_id`, `current` a
    `std::optional<attachment_option>` and `candidate` an
    `attachment_option`:

    1. `ch.role()` returns the node's current `node_role`.
    2. `ch.level()` returns its level, convertible to `std::uint8_t`; 0 is the
       leaf (or only) level.
    3. `ch.parent()` returns the node it is attached to, or no value when it
       has none (a flat peer, a root, or a node between attachments).
    4. `ch.justifies_move(current, candidate)` says whether `candidate` is
       worth leaving `current` for (with no current attachment: whether it
       is worth attaching to at all).
    5. `h.attach(id)` records that the node is now attached to `id`;
       `h.detach()` that it is attached to nothing. A strategy that has no
       attachments (`flat`) ignores both.

    See docs/concepts/hierarchy_strategy.md.
*/
template <class H>
concept hierarchy_strategy = requires(H& h, H const& ch, node_id const& id,
                                      std::optional<attachment_option> const& current,
                                      attachment_option const& candidate) {
    { ch.role() } -> std::same_as<node_role>;
    { ch.level() } -> std::convertible_to<std::uint8_t>;
    { ch.parent() } -> std::same_as<std::optional<node_id>>;
    { ch.justifies_move(current, candidate) } -> std::same_as<bool>;
    { h.attach(id) } -> std::same_as<void>;
    { h.detach() } -> std::same_as<void>;
};

} // namespace meshkit

#endif // MESHKIT_CONCEPTS_HIERARCHY_STRATEGY_HPP

// concepts/hierarchy_strategy.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_CONCEPTS_HIERARCHY_STRATEGY_HPP
#define MESHKIT_CONCEPTS_HIERARCHY_STRATEGY_HPP

#include <meshkit/hierarchy/node_role.hpp>
#include <meshkit/node_id.hpp>

#include <concepts>
#include <cstdint>
#include <optional>

namespace meshkit {

/** What role and level a node has, and whom it attaches to.

    A type `H` models `hierarchy_strategy` if, for `h` a `H const`:

    1. `h.role()` returns the node's current `node_role`.
    2. `h.level()` returns its level, convertible to `std::uint8_t`; 0 is the
       leaf (or only) level.
    3. `h.parent()` returns the node it is attached to, or no value when it
       has none (a flat peer, a root, or a node between attachments).

    See docs/concepts/hierarchy_strategy.md.
*/
template <class H>
concept hierarchy_strategy = requires(H const& h) {
    { h.role() } -> std::same_as<node_role>;
    { h.level() } -> std::convertible_to<std::uint8_t>;
    { h.parent() } -> std::same_as<std::optional<node_id>>;
};

} // namespace meshkit

#endif // MESHKIT_CONCEPTS_HIERARCHY_STRATEGY_HPP

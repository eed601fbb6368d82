// hierarchy/flat.hpp
// ~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_HIERARCHY_FLAT_HPP
#define MESHKIT_HIERARCHY_FLAT_HPP

#include <meshkit/concepts/hierarchy_strategy.hpp>
#include <meshkit/hierarchy/attachment_option.hpp>
#include <meshkit/hierarchy/node_role.hpp>
#include <meshkit/node_id.hpp>

#include <cstdint>
#include <optional>

namespace meshkit::hierarchy {

/** No hierarchy: every node is a peer at level 0 with no parent, and never attaches.

    Models `meshkit::hierarchy_strategy`. It is the default, and what gossip
    meshes such as lattice and Flashback use. It holds nothing and every
    member is a constant, so it costs nothing in a node.
*/
struct flat {
    [[nodiscard]] constexpr node_role role() const noexcept { return node_role::peer; }
    [[nodiscard]] constexpr std::uint8_t level() const noexcept { return 0; }
    [[nodiscard]] std::optional<node_id> parent() const noexcept { return std::nullopt; }
    /// Never: a flat mesh has no attachments to move between.
    [[nodiscard]] constexpr bool justifies_move(std::optional<attachment_option> const&,
                                                attachment_option const&) const noexcept
    {
        return false;
    }
    constexpr void attach(node_id const&) noexcept {}
    constexpr void detach() noexcept {}
};

static_assert(hierarchy_strategy<flat>);

} // namespace meshkit::hierarchy

#endif // MESHKIT_HIERARCHY_FLAT_HPP

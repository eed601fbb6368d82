// hierarchy/node_role.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_HIERARCHY_NODE_ROLE_HPP
#define MESHKIT_HIERARCHY_NODE_ROLE_HPP

namespace meshkit {

/// The part a node plays in its mesh's hierarchy.
enum class node_role {
    /** An equal member of a flat mesh. */
    peer = 1,
    /** A long-lived, reachable node that others attach to (REPRAM substrate). */
    substrate,
    /** A short-lived node that attaches to a substrate node (REPRAM transient). */
    transient,
    /** A node that leads a cell or level of a hierarchy (Peat). */
    leader,
    /** A node that belongs to a cell and reports to its leader (Peat). */
    member,
    /** A node of a levelled hierarchy with no peer at its level in range: it leads no one, follows no one (Peat). */
    standalone,
};

/// A short lowercase name, for logs.
constexpr char const* to_string(node_role r) noexcept
{
    switch (r) {
    case node_role::peer: return "peer";
    case node_role::substrate: return "substrate";
    case node_role::transient: return "transient";
    case node_role::leader: return "leader";
    case node_role::member: return "member";
    case node_role::standalone: return "standalone";
    }
    return "unknown";
}

} // namespace meshkit

#endif // MESHKIT_HIERARCHY_NODE_ROLE_HPP

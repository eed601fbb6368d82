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
};

} // namespace meshkit

#endif // MESHKIT_HIERARCHY_NODE_ROLE_HPP

// link_events.hpp
// ~~~~~~~~~~~~~~~
#ifndef MESHKIT_LINK_EVENTS_HPP
#define MESHKIT_LINK_EVENTS_HPP

#include <meshkit/endpoint.hpp>
#include <meshkit/nat/nat_type.hpp>
#include <meshkit/node_id.hpp>
#include <meshkit/time.hpp>

#include <cstdint>

namespace meshkit {

/** How a link reaches its peer.

    The rungs of the connection ladder, and an attachment (a transient node
    attached to a substrate node). The values go on the wire in connection
    reports, so they never change.
*/
enum class link_method : std::uint8_t {
    /** The first datagrams got through: the peer is public, or its NAT filters nothing. */
    direct = 1,
    /** Both sides fired at a moment an intermediary chose, and the NATs let the crossing datagrams in. */
    punched,
    /** Datagrams travel through a public relay because no direct path exists. */
    relayed,
    /** A transient node's attachment to a substrate node, which serves it. */
    attached,
};

/** Whether a link of this method joins the flat mesh: direct and punched links do.

    A relayed link's address is its relay's, and an attached link is a
    transient served by its substrate's attachment engine: broadcast
    engines and cache gossip run over neither.
*/
constexpr bool is_mesh_link(link_method m) noexcept
{
    return m == link_method::direct || m == link_method::punched;
}

/// A short lowercase name, for logs and reports.
constexpr char const* to_string(link_method m) noexcept
{
    switch (m) {
    case link_method::direct: return "direct";
    case link_method::punched: return "punched";
    case link_method::relayed: return "relayed";
    case link_method::attached: return "attached";
    }
    return "unknown";
}

/** A link to `peer` works, or moved (a new address, or a better method).

    Every engine that makes links raises it: HyParView for a peer that
    joins its active view, the connection ladder for a connection on both
    sides. Engines that use links listen to it whoever made them:
    broadcast engines send over them, cache gossip syncs over the ones
    that need no third party, the registry client reports them.
*/
struct link_up {
    node_id peer;
    /// The peer's address on a direct or punched path; its relay's on a relayed one.
    endpoint address;
    link_method method = link_method::direct;
    /// True on the side that asked for the link: its `attempts` and `time_to_connect` measure the ladder.
    bool initiated = false;
    /// Passes up the ladder (1 for a first-try success).
    unsigned attempts = 1;
    duration time_to_connect{};
    /// A relayed link that became direct or punched.
    bool upgraded = false;
    nat::nat_type peer_nat = nat::nat_type::unknown;
};

/// A link was lost: its peer went silent past the timeout, left, or was evicted.
struct link_down {
    node_id peer;
    endpoint address;
};

} // namespace meshkit

#endif // MESHKIT_LINK_EVENTS_HPP

// peer_events.hpp
// ~~~~~~~~~~~~~~~
#ifndef MESHKIT_PEER_EVENTS_HPP
#define MESHKIT_PEER_EVENTS_HPP

#include <meshkit/endpoint.hpp>
#include <meshkit/node_id.hpp>
#include <meshkit/time.hpp>

#include <cstddef>
#include <system_error>

namespace meshkit {

/** Events about peers that any engine may emit.

    `basic_node` routes them to its discovery strategy (so a cache learns
    which candidates answer) before handing them to the application.
*/

/// A peer answered a contact attempt (a liveness session opened, or a join was accepted).
struct peer_up {
    node_id id;
    endpoint address;
};

/// A peer was silent for longer than the session timeout and was aged out.
struct peer_down {
    node_id id;
    endpoint address;
    duration silence;
};

/// A candidate endpoint never answered within the engine's attempts.
struct contact_failed {
    endpoint address;
};

/// The engine has fewer peers than it wants and asks discovery for `count` candidates.
struct peers_wanted {
    std::size_t count;
};

/** The transport reported an error instead of a datagram.

    `peer` is the destination it concerns when known: an ICMP "port
    unreachable" names the address a datagram could not reach. Engines with
    an `on_unreachable(ctx, address)` hook hear of those at once.
*/
struct transport_error {
    std::error_code error;
    endpoint peer;
};

} // namespace meshkit

#endif // MESHKIT_PEER_EVENTS_HPP

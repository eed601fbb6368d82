// overlay_events.hpp
// ~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_OVERLAY_EVENTS_HPP
#define MESHKIT_OVERLAY_EVENTS_HPP

#include <meshkit/peer_info.hpp>

namespace meshkit {

/** Events a membership engine emits about its active view.

    Broadcast engines (Plumtree, push gossip, flooding) receive them through
    their `on_event` hooks: the node routes every engine's events to every
    engine (the emitter included) that has a hook for that type.
*/

/// A peer joined the active view: broadcast to it from now on.
struct neighbor_up {
    peer_info peer;
};

/// A peer left the active view (failed, or disconnected).
struct neighbor_down {
    peer_info peer;
};

} // namespace meshkit

#endif // MESHKIT_OVERLAY_EVENTS_HPP

// membership/hyparview_messages.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_MEMBERSHIP_HYPARVIEW_MESSAGES_HPP
#define MESHKIT_MEMBERSHIP_HYPARVIEW_MESSAGES_HPP

#include <meshkit/peer_info.hpp>
#include <meshkit/wire/message.hpp>
#include <meshkit/wire/registry.hpp>

#include <cstdint>
#include <vector>

namespace meshkit::membership {

/// A newcomer asks its contact to take it into the overlay.
struct hv_join {
    static constexpr wire::type_id wire_id = 0x0010;
};

/// A random walk that spreads a newcomer into active and passive views.
struct hv_forward_join {
    static constexpr wire::type_id wire_id = 0x0011;
    peer_info joiner;
    std::uint8_t ttl = 0;
};

/// Asks to become an active neighbour; a high-priority request must be accepted.
struct hv_neighbor {
    static constexpr wire::type_id wire_id = 0x0012;
    bool high_priority = false;
};

/// The answer to `hv_join` or `hv_neighbor`.
struct hv_neighbor_reply {
    static constexpr wire::type_id wire_id = 0x0013;
    bool accepted = false;
};

/** Ends an active link; `alive` says the sender stays reachable (keep it as passive).

    A node that evicts a neighbour to make room for a joiner names a few
    `alternatives` (the joiner, which has room, and some of its other
    neighbours), so the evicted node repairs at once instead of waiting
    for a shuffle to fill an empty passive view: in a burst of joins
    through one seed, early joiners are evicted before they know anyone
    else. At most `max_alternatives` are read.
*/
struct hv_disconnect {
    static constexpr wire::type_id wire_id = 0x0014;
    static constexpr std::size_t max_alternatives = 4;
    bool alive = true;
    std::vector<endpoint> alternatives;
};

/** A random walk carrying a sample of the origin's views, to refresh passive views.

    Entries are addresses only: a passive entry is something to contact, and
    the contacted node's id arrives with its answer. That keeps a passive
    view at 19 bytes an entry instead of 51.
*/
struct hv_shuffle {
    static constexpr wire::type_id wire_id = 0x0015;
    endpoint origin;
    std::uint8_t ttl = 0;
    std::vector<endpoint> entries;
};

/// The walk's last node answers the origin directly with a sample of its passive view.
struct hv_shuffle_reply {
    static constexpr wire::type_id wire_id = 0x0016;
    std::vector<endpoint> entries;
};

/// Keeps an idle active link observed; silence beyond the timeout means failure.
struct hv_keepalive {
    static constexpr wire::type_id wire_id = 0x0017;
    /// Says nothing else: a topic host replaces it with one probe per peer (`wire::is_keepalive`).
    static constexpr bool keepalive = true;
};

/// The messages the HyParView engine speaks.
using hyparview_messages = wire::registry<hv_join, hv_forward_join, hv_neighbor, hv_neighbor_reply, hv_disconnect,
                                          hv_shuffle, hv_shuffle_reply, hv_keepalive>;

} // namespace meshkit::membership

#endif // MESHKIT_MEMBERSHIP_HYPARVIEW_MESSAGES_HPP

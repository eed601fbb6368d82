// discovery/gossip_messages.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_DISCOVERY_GOSSIP_MESSAGES_HPP
#define MESHKIT_DISCOVERY_GOSSIP_MESSAGES_HPP

#include <meshkit/discovery/peer_record.hpp>
#include <meshkit/node_id.hpp>
#include <meshkit/wire/message.hpp>
#include <meshkit/wire/registry.hpp>

#include <cstdint>
#include <optional>
#include <vector>

namespace meshkit::discovery {

/** Flashback's six gossip messages (GOSSIP_PROTOCOL_DESIGN.md), over meshkit's wire format.

    No clock value crosses the wire: records carry their origin's version
    and their age (`peer_record`), and incremental pulls name a revision of
    the responder's cache, so two hosts whose clocks disagree by hours
    still agree on which copy is newest and when a record expires.
    Flashback's timestamp skew check becomes an age check: a record older
    than the expiry is refused. Message ids for dedup are the envelope's
    (origin and message id), which forwarding keeps.
*/

/// Exchanged when a connection opens: who the sender is and what it offers.
struct fb_hello {
    static constexpr wire::type_id wire_id = 0x0040;
    peer_record self;
    bool bootstrap = false;
    std::uint16_t gossip_version = 2;
};

/// Spreads a peer's own record, fan-out 3, TTL at most 32.
struct fb_peer_announcement {
    static constexpr wire::type_id wire_id = 0x0041;
    static constexpr bool forwarded = true; // cache gossip relays it with its origin as sender
    std::uint8_t ttl = 0;
    peer_record origin;
};

/** Asks a neighbour for records: those it changed after revision `since`, or the one of `target`.

    `since` is a revision of the neighbour's own cache: the `as_of` of its
    previous answer, so nothing depends on a clock. With 0 it is the full
    sync a connection starts with; after that, pulls are incremental.
*/
struct fb_peer_request {
    static constexpr wire::type_id wire_id = 0x0042;
    std::uint64_t request_id = 0;
    std::uint8_t ttl = 1;
    std::uint64_t since = 0;
    std::optional<node_id> target;
};

/// One chunk of the answer to a `fb_peer_request`; each fits one datagram.
struct fb_peer_list_response {
    static constexpr wire::type_id wire_id = 0x0043;
    std::uint64_t request_id = 0;
    /// The responder's cache revision when it answered: the `since` of the next request.
    std::uint64_t as_of = 0;
    std::uint16_t chunk = 0;
    std::uint16_t chunks = 0;
    std::vector<peer_record> peers;
};

/// A bootstrap node's keep-alive (every 30 s, TTL 2): receivers mark it seen.
struct fb_heartbeat {
    static constexpr wire::type_id wire_id = 0x0044;
    static constexpr bool forwarded = true; // cache gossip relays it with its origin as sender
    std::uint8_t ttl = 0;
    std::uint32_t peer_table_size = 0;
    std::uint64_t uptime_s = 0;
};

/// A peer's change to its own record, or its departure (`online` false).
struct fb_peer_update {
    static constexpr wire::type_id wire_id = 0x0045;
    static constexpr bool forwarded = true; // cache gossip relays it with its origin as sender
    std::uint8_t ttl = 0;
    peer_record origin;
    bool online = true;
};

/// The messages cache gossip speaks.
using gossip_messages = wire::registry<fb_hello, fb_peer_announcement, fb_peer_request, fb_peer_list_response,
                                       fb_heartbeat, fb_peer_update>;

} // namespace meshkit::discovery

#endif // MESHKIT_DISCOVERY_GOSSIP_MESSAGES_HPP

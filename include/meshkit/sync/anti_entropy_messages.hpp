// sync/anti_entropy_messages.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_SYNC_ANTI_ENTROPY_MESSAGES_HPP
#define MESHKIT_SYNC_ANTI_ENTROPY_MESSAGES_HPP

#include <meshkit/broadcast/message_key.hpp>
#include <meshkit/sync/item.hpp>
#include <meshkit/sync/sync_message.hpp>
#include <meshkit/wire/message.hpp>
#include <meshkit/wire/registry.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace meshkit::sync {

/// One turn of a reconciliation between two nodes' broadcast logs.
struct ae_sync {
    static constexpr wire::type_id wire_id = 0x00A0;
    /// Names the session in both directions (the initiator's draw).
    std::uint32_t session = 0;
    /// Turns so far; a session past `anti_entropy_config::max_rounds` is dropped.
    std::uint8_t round = 0;
    sync_message body;
};

/// "Send me these": ids a reconciliation found missing (at most `anti_entropy_config::max_ids_per_want`).
struct ae_want {
    static constexpr wire::type_id wire_id = 0x00A1;
    std::vector<item_id> ids;
};

/// One broadcast from a log, asked for with `ae_want`: its key, version and payload, from which the receiver recomputes its id.
struct ae_item {
    static constexpr wire::type_id wire_id = 0x00A2;
    broadcast::message_key key;
    std::uint64_t version = 0;
    std::vector<std::byte> payload;
};

/** "This session ended, and I needed nothing in it": sent by the side whose turn finished a reconciliation.

    If the receiver needed nothing either, and neither log changed during
    the session, the two logs were equal when it ended: each side records
    a knowledge watermark for the other and skips rounds with it until
    its own log changes (`anti_entropy_config::watermark_ttl`).
*/
struct ae_agreed {
    static constexpr wire::type_id wire_id = 0x00A3;
    std::uint32_t session = 0;
};

/// The messages the anti-entropy engine speaks.
using anti_entropy_messages = wire::registry<ae_sync, ae_want, ae_item, ae_agreed>;

} // namespace meshkit::sync

#endif // MESHKIT_SYNC_ANTI_ENTROPY_MESSAGES_HPP

// broadcast/push_gossip_messages.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_BROADCAST_PUSH_GOSSIP_MESSAGES_HPP
#define MESHKIT_BROADCAST_PUSH_GOSSIP_MESSAGES_HPP

#include <meshkit/broadcast/message_key.hpp>
#include <meshkit/wire/message.hpp>
#include <meshkit/wire/registry.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace meshkit::broadcast {

/// A push-gossip copy of a broadcast, with its remaining time to live.
struct pg_gossip {
    static constexpr wire::type_id wire_id = 0x0030;
    message_key key;
    std::uint8_t ttl = 0;
    std::uint16_t hops = 0;
    std::vector<std::byte> payload;
};

/// A flooded copy of a broadcast.
struct fl_flood {
    static constexpr wire::type_id wire_id = 0x0031;
    message_key key;
    std::uint16_t hops = 0;
    std::vector<std::byte> payload;
};

/// The messages the push-gossip engine speaks.
using push_gossip_messages = wire::registry<pg_gossip>;

/// The messages the flooding engine speaks.
using flooding_messages = wire::registry<fl_flood>;

} // namespace meshkit::broadcast

#endif // MESHKIT_BROADCAST_PUSH_GOSSIP_MESSAGES_HPP

// broadcast/message_key.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_BROADCAST_MESSAGE_KEY_HPP
#define MESHKIT_BROADCAST_MESSAGE_KEY_HPP

#include <meshkit/node_id.hpp>

#include <compare>
#include <cstdint>

namespace meshkit::broadcast {

/** Names one broadcast: its origin and the origin's sequence number.

    Exact, not a hash, so two broadcasts can never be confused; 40 bytes on
    the wire.
*/
struct message_key {
    node_id origin;
    std::uint64_t seq = 0;

    friend auto operator<=>(message_key const&, message_key const&) = default;
};

} // namespace meshkit::broadcast

#endif // MESHKIT_BROADCAST_MESSAGE_KEY_HPP

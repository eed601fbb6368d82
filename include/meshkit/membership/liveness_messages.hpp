// membership/liveness_messages.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_MEMBERSHIP_LIVENESS_MESSAGES_HPP
#define MESHKIT_MEMBERSHIP_LIVENESS_MESSAGES_HPP

#include <meshkit/wire/message.hpp>
#include <meshkit/wire/registry.hpp>

#include <cstdint>

namespace meshkit::membership {

/// Asks a peer to answer with a `pong` carrying the same nonce.
struct ping {
    static constexpr wire::type_id wire_id = 0x0001;
    std::uint64_t nonce = 0;
};

/// The answer to a `ping`; its round trip is one RTT sample.
struct pong {
    static constexpr wire::type_id wire_id = 0x0002;
    std::uint64_t nonce = 0;
};

/// The messages the liveness engine speaks.
using liveness_messages = wire::registry<ping, pong>;

} // namespace meshkit::membership

#endif // MESHKIT_MEMBERSHIP_LIVENESS_MESSAGES_HPP

// topic/topic_messages.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_TOPIC_TOPIC_MESSAGES_HPP
#define MESHKIT_TOPIC_TOPIC_MESSAGES_HPP

#include <meshkit/wire/envelope.hpp>
#include <meshkit/wire/message.hpp>
#include <meshkit/wire/registry.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace meshkit::topic {

/** One message of one topic's overlay: its kind and encoded body, and the topic it belongs to.

    The inner message is encoded exactly as it would be on its own; the
    frame adds 8 bytes of topic, 2 of kind and a length (12 bytes for a
    body up to 16 KiB), which a topic host takes off its engines' payload
    limits.
*/
struct topic_frame {
    static constexpr wire::type_id wire_id = 0x0090;
    std::uint64_t topic = 0;
    wire::type_id inner = 0;
    std::vector<std::byte> body;
};

/// What a topic frame adds to its inner message.
inline constexpr std::size_t topic_frame_overhead = 8 + 2 + 2;

/** "Are you there?", once per probe interval, to one peer: liveness for every topic at once.

    Every tenth interval or so a probe also checks the links (`topics`
    present): it names the topics in which the sender holds the receiver
    as a neighbour, so a link that one side ended (a lost disconnect)
    ends on the other. The other probes leave it out: 25 bytes a probe
    with three topics, most of an idle node's probe traffic.
*/
struct topic_ping {
    static constexpr wire::type_id wire_id = 0x0091;
    std::uint32_t nonce = 0;
    std::optional<std::vector<std::uint64_t>> topics;
};

/// The answer to `topic_ping`; it lists the topics in which the answering side holds the asker when the ping listed its own.
struct topic_ack {
    static constexpr wire::type_id wire_id = 0x0092;
    std::uint32_t nonce = 0;
    std::optional<std::vector<std::uint64_t>> topics;
};

/// "I am not in that topic": the answer to a frame of a topic the receiver does not belong to (any more).
struct topic_unknown {
    static constexpr wire::type_id wire_id = 0x0093;
    std::uint64_t topic = 0;
};

/// The messages a topic host speaks itself; its topics' engines speak theirs inside frames.
using topic_messages = wire::registry<topic_frame, topic_ping, topic_ack, topic_unknown>;

} // namespace meshkit::topic

#endif // MESHKIT_TOPIC_TOPIC_MESSAGES_HPP

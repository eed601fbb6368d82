// topology/messages.hpp
// ~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_TOPOLOGY_MESSAGES_HPP
#define MESHKIT_TOPOLOGY_MESSAGES_HPP

#include <meshkit/broadcast/message_key.hpp>
#include <meshkit/node_id.hpp>
#include <meshkit/topology/beacon.hpp>
#include <meshkit/wire/envelope.hpp>
#include <meshkit/wire/message.hpp>
#include <meshkit/wire/registry.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

// The hierarchical mesh's datagrams (Peat's P2P mesh intelligence layer):
// beacons, a probe that retries a silent parent, data packets routed by
// direction, and their acknowledgements. No field is a clock reading.

namespace meshkit::topology {

/// Which way a packet travels in the hierarchy.
enum class direction : std::uint8_t {
    /** Towards the root, through each node's parent (telemetry, status). */
    upward = 1,
    /** Towards the leaves, through each node's children (commands, configuration). */
    downward,
    /** Across one level, through lateral peers (coordination). */
    lateral,
};

/// What a packet carries: Peat's data types, which fix its direction.
enum class data_type : std::uint8_t {
    telemetry = 1,
    status,
    command,
    configuration,
    coordination,
    /// A leader's summary of its cell's telemetry (an aggregator's output).
    aggregated_telemetry,
};

/// A short lowercase name, for logs.
constexpr char const* to_string(data_type t) noexcept
{
    switch (t) {
    case data_type::telemetry: return "telemetry";
    case data_type::status: return "status";
    case data_type::command: return "command";
    case data_type::configuration: return "configuration";
    case data_type::coordination: return "coordination";
    case data_type::aggregated_telemetry: return "aggregated_telemetry";
    }
    return "unknown";
}

/// The direction a data type travels in.
[[nodiscard]] constexpr direction direction_of(data_type t) noexcept
{
    switch (t) {
    case data_type::command:
    case data_type::configuration: return direction::downward;
    case data_type::coordination: return direction::lateral;
    default: return direction::upward;
    }
}

/// Names one packet: its source and the source's number (exact, as a broadcast's key is).
using packet_key = broadcast::message_key;

/// The hop limits: a packet that has made this many hops is dropped (Peat: 10, lateral 3).
inline constexpr std::uint8_t max_hops = 10;
inline constexpr std::uint8_t max_lateral_hops = 3;

/** A data packet, routed hop by hop by each node's selective router (Peat's DataPacket).

    Upward packets may be summaries: `readings` counts the source readings
    a packet stands for (1 for a plain reading, the sum for a summary).
*/
struct hm_packet {
    static constexpr wire::type_id wire_id = 0x0083;
    node_id source;
    std::uint64_t seq = 0;
    /// A downward or lateral packet for one node only; none: for every node it reaches.
    std::optional<node_id> destination;
    data_type type = data_type::telemetry;
    std::uint8_t hops = 0;
    std::uint8_t hop_limit = max_hops;
    std::uint32_t readings = 1;
    std::vector<std::byte> payload;

    [[nodiscard]] packet_key key() const { return packet_key{source, seq}; }
};

/// The most payload bytes a packet carries: a datagram less the envelope and the packet's own fields.
inline constexpr std::size_t max_packet_payload = 1200 - wire::envelope_size - 32 - 8 - 33 - 4 - 4 - 3;

/// The most keys one acknowledgement carries.
inline constexpr std::size_t max_acked_keys = 24;

/** Acknowledges packets to the hop that sent them.

    `received`: the hop has them (stop resending). `released`: upward
    packets whose content has gone further up and been acknowledged
    there, or been consumed at a root: the sender may forget them. Until
    then a child keeps each reading, and gives it to its next parent if
    this one fails: what a dying parent held is not lost.
*/
struct hm_ack {
    static constexpr wire::type_id wire_id = 0x0084;
    std::vector<packet_key> received;
    std::vector<packet_key> released;
};

/// A retry of a silent parent (or lateral peer); as long as its reply, so it reflects nothing larger.
struct hm_probe {
    static constexpr wire::type_id wire_id = 0x0081;
    std::uint64_t nonce = 0;
};

struct hm_probe_reply {
    static constexpr wire::type_id wire_id = 0x0082;
    std::uint64_t nonce = 0;
};

/// The bytes `p` takes on the wire, its envelope included (what upward traffic is measured in).
[[nodiscard]] inline std::size_t encoded_size(hm_packet const& p) noexcept
{
    auto varint = [](std::size_t n) {
        std::size_t bytes = 1;
        while (n >= 0x80) {
            n >>= 7;
            ++bytes;
        }
        return bytes;
    };
    return wire::envelope_size + 32 + 8 + (p.destination ? 33 : 1) + 1 + 1 + 1 + 4 + varint(p.payload.size()) +
           p.payload.size();
}

using topology_messages = wire::registry<hm_beacon, hm_probe, hm_probe_reply, hm_packet, hm_ack>;

} // namespace meshkit::topology

#endif // MESHKIT_TOPOLOGY_MESSAGES_HPP

// attach/messages.hpp
// ~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_ATTACH_MESSAGES_HPP
#define MESHKIT_ATTACH_MESSAGES_HPP

#include <meshkit/broadcast/message_key.hpp>
#include <meshkit/coordinates/network_coordinate.hpp>
#include <meshkit/endpoint.hpp>
#include <meshkit/node_id.hpp>
#include <meshkit/security/signature.hpp>
#include <meshkit/security/signing_bytes.hpp>
#include <meshkit/wire/channel.hpp>
#include <meshkit/wire/message.hpp>
#include <meshkit/wire/registry.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

// The attachment protocol between a transient node and a substrate node
// (REPRAM Discovery Protocol v2): hello, welcome or goodbye, heartbeats, on a
// stream; and the substrates' own records, exchanged with mesh neighbours in
// datagrams. No field is a clock reading: records carry versions.

namespace meshkit::attach {

/// The longest enclave name accepted; a longer one is refused, not truncated.
inline constexpr std::size_t max_enclave_length = 64;

/// A substrate node as others learn it: where transients attach to it, its enclave, how full it is.
struct substrate_record {
    node_id id;
    /// Its stream address (`tcp://`): where a transient opens its attachment.
    endpoint address;
    /// Its datagram address: where `at_probe` measures the round trip to it without a stream.
    endpoint probe_address;
    std::string enclave;
    std::uint32_t children = 0;
    std::uint32_t max_children = 0;
    /// Raised by the substrate on every change and refresh (its incarnation in the high 32 bits): newest wins.
    std::uint64_t version = 0;
    /// Where it sits in latency space: a transient estimates its RTT to it before probing any.
    coordinates::network_coordinate coordinate;
    /// The substrate's signature of `signing_bytes(*this)` (secure nodes): relays cannot change a field.
    std::optional<security::signature> signature;

    friend bool operator==(substrate_record const&, substrate_record const&) = default;
};

/// The bytes a substrate signs of its record: everything but the signature, after a domain tag.
inline std::vector<std::byte> signing_bytes(substrate_record r)
{
    r.signature.reset();
    return security::signing_bytes("meshkit/substrate_record/1", r);
}

/** Whether `r` is its substrate's own word, as node context `ctx` can tell; a forgery is counted in `forged`.

    On an insecure node every record passes: ids there are no keys.
*/
template <class Ctx>
bool is_authentic(Ctx const& ctx, substrate_record const& r, std::uint64_t& forged)
{
    if (ctx.verify(r.id, signing_bytes(r), r.signature))
        return true;
    ++forged;
    return false;
}

/// A transient asks to attach (on a stream it opened to the substrate's stream address).
struct at_hello {
    static constexpr wire::type_id wire_id = 0x0070;
    static constexpr wire::channel travels_on = wire::channel::stream;
    std::string enclave;
    /// `attach::capability` bits; none are defined yet, and unknown bits are ignored.
    std::uint8_t capabilities = 0;
    /** How long ago (ms) it last received a publication, on any attachment; 0 when never.

        An age, not a time: the new substrate resends what it logged since
        then (with a margin), and the transient drops what it already has.
    */
    std::uint32_t catch_up_ms = 0;
    /// Its Vivaldi coordinate: the substrate ranks the substrates it names by estimated RTT to it.
    coordinates::network_coordinate coordinate;
};

/// The substrate accepts: what it knows of the mesh's substrates (bounded), and the child's place.
struct at_welcome {
    static constexpr wire::type_id wire_id = 0x0071;
    static constexpr wire::channel travels_on = wire::channel::stream;
    /// The substrate itself first, then others it knows, same enclave as the child first.
    std::vector<substrate_record> substrates;
    /// Children now attached to it, this one included.
    std::uint32_t children = 0;
};

/// Why a substrate ends or refuses an attachment.
enum class goodbye_reason : std::uint8_t {
    /** It holds `max_children` already (0: it takes none). */
    full = 1,
    /** It is shutting down: move now. */
    shutdown,
    /** The hello was malformed (an enclave name over the limit). */
    refused,
};

/// A short lowercase name, for logs.
constexpr char const* to_string(goodbye_reason r) noexcept
{
    switch (r) {
    case goodbye_reason::full: return "full";
    case goodbye_reason::shutdown: return "shutdown";
    case goodbye_reason::refused: return "refused";
    }
    return "unknown";
}

/// The substrate refuses or ends an attachment, naming up to 5 substrates to try instead, same enclave first.
struct at_goodbye {
    static constexpr wire::type_id wire_id = 0x0072;
    static constexpr wire::channel travels_on = wire::channel::stream;
    goodbye_reason reason = goodbye_reason::full;
    std::vector<substrate_record> alternatives;
};

/// A transient's heartbeat to its substrate; the substrate echoes the nonce.
struct at_ping {
    static constexpr wire::type_id wire_id = 0x0073;
    static constexpr wire::channel travels_on = wire::channel::stream;
    std::uint64_t nonce = 0;
};

/// The substrate's answer to `at_ping`, with its coordinate: the child's heartbeat is also an RTT sample.
struct at_pong {
    static constexpr wire::type_id wire_id = 0x0074;
    static constexpr wire::channel travels_on = wire::channel::stream;
    std::uint64_t nonce = 0;
    coordinates::network_coordinate coordinate;
};

/// A substrate's record and a few it knows, to a mesh neighbour (a datagram): how substrates learn each other.
struct at_announce {
    static constexpr wire::type_id wire_id = 0x0075;
    std::vector<substrate_record> records;
};

/** A publication as the mesh carries it (the payload of a broadcast): who published it, and its number.

    The origin is the publisher, a transient or a substrate, not the
    substrate that put it into the mesh: a publication resent through a
    second substrate after a migration is the same publication, and every
    node delivers it once.
*/
struct publication {
    node_id origin;
    std::uint64_t seq = 0;
    std::vector<std::byte> data;
};

/// The most bytes a publication may carry: a broadcast's payload less the origin, number and length.
inline constexpr std::size_t max_publication_size = broadcast::default_max_payload - 32 - 8 - 3; // 1,060

/// A transient publishes (to its substrate); resent on the next attachment until acknowledged.
struct at_publish {
    static constexpr wire::type_id wire_id = 0x0076;
    static constexpr wire::channel travels_on = wire::channel::stream;
    std::uint64_t seq = 0;
    std::vector<std::byte> data;
};

/// The substrate took publication `seq` into the mesh (or had it already).
struct at_ack {
    static constexpr wire::type_id wire_id = 0x0077;
    static constexpr wire::channel travels_on = wire::channel::stream;
    std::uint64_t seq = 0;
};

/// A publication, from the substrate to a child: everything the mesh delivers, and catch-up.
struct at_deliver {
    static constexpr wire::type_id wire_id = 0x0078;
    static constexpr wire::channel travels_on = wire::channel::stream;
    node_id origin;
    std::uint64_t seq = 0;
    std::vector<std::byte> data;
};

/** A round-trip probe (a datagram) to a substrate's `probe_address`, by a transient or another substrate.

    Carries the prober's coordinate and is exactly as long as the answer,
    so a probe with a forged source reflects no more bytes than it costs.
*/
struct at_probe {
    static constexpr wire::type_id wire_id = 0x0079;
    std::uint64_t nonce = 0;
    coordinates::network_coordinate coordinate;
    /// Zero; it keeps the probe as long as `at_probe_reply`.
    std::uint32_t reserved = 0;
};

/// A substrate's answer to `at_probe`: the nonce, its coordinate, and how many children it would still take.
struct at_probe_reply {
    static constexpr wire::type_id wire_id = 0x007A;
    std::uint64_t nonce = 0;
    coordinates::network_coordinate coordinate;
    std::uint32_t free_slots = 0;
};

/// A publication reached this node for the first time (substrate or transient): the application's delivery.
struct published {
    node_id origin;
    std::uint64_t seq = 0;
    std::vector<std::byte> data;
};

using attach_messages = wire::registry<at_hello, at_welcome, at_goodbye, at_ping, at_pong, at_announce, at_publish,
                                       at_ack, at_deliver, at_probe, at_probe_reply>;

} // namespace meshkit::attach

#endif // MESHKIT_ATTACH_MESSAGES_HPP

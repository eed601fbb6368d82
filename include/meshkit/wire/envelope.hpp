// wire/envelope.hpp
// ~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_WIRE_ENVELOPE_HPP
#define MESHKIT_WIRE_ENVELOPE_HPP

#include <meshkit/node_id.hpp>
#include <meshkit/result.hpp>
#include <meshkit/wire/archive.hpp>
#include <meshkit/wire/error.hpp>
#include <meshkit/wire/message.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace meshkit::wire {

/// The first two bytes of every meshkit datagram: "MK" read as a little-endian u16.
inline constexpr std::uint16_t magic = 0x4b4d;

/// The envelope layout this build writes and accepts.
inline constexpr std::uint8_t protocol_version = 1;

/** The fixed header in front of every message.

    On the wire, in order: magic (u16), version (u8), type (u16), sender
    (32 bytes), message id (u64), hops (u8); 46 bytes, little-endian.
*/
struct envelope {
    /// Which message follows; see `wire::registry`.
    type_id type = 0;
    /// The node that created the message (not the last hop).
    node_id sender{};
    /// Unique per sender; engines use it for deduplication.
    std::uint64_t message_id = 0;
    /// How many times the message has been forwarded.
    std::uint8_t hops = 0;
};

/// The encoded size of an `envelope`.
inline constexpr std::size_t envelope_size = 2 + 1 + 2 + 32 + 8 + 1;

/// An envelope and a view of the body bytes that follow it.
struct envelope_view {
    envelope header;
    std::span<std::byte const> body;
};

namespace detail {
struct envelope_wire {
    std::uint16_t magic;
    std::uint8_t version;
    type_id type;
    node_id sender;
    std::uint64_t message_id;
    std::uint8_t hops;
};
} // namespace detail

/// Appends the envelope's 46 bytes to `out`.
inline void encode_envelope(envelope const& e, std::vector<std::byte>& out)
{
    output_archive ar{out};
    ar(detail::envelope_wire{magic, protocol_version, e.type, e.sender, e.message_id, e.hops});
}

/** Splits a datagram into its envelope and body.

    @return the envelope view, or `truncated`, `bad_magic` or `unsupported_version`.
    The body is not looked at; `registry::decode` does that.
*/
[[nodiscard]] inline result<envelope_view> decode_envelope(std::span<std::byte const> datagram) noexcept
{
    if (datagram.size() < envelope_size)
        return make_error_code(errc::truncated);
    input_archive ar{datagram.first(envelope_size)};
    detail::envelope_wire w{};
    ar(w);
    if (w.magic != magic)
        return make_error_code(errc::bad_magic);
    if (w.version != protocol_version)
        return make_error_code(errc::unsupported_version);
    return envelope_view{{w.type, w.sender, w.message_id, w.hops}, datagram.subspan(envelope_size)};
}

} // namespace meshkit::wire

#endif // MESHKIT_WIRE_ENVELOPE_HPP

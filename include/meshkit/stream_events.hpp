// stream_events.hpp
// ~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_STREAM_EVENTS_HPP
#define MESHKIT_STREAM_EVENTS_HPP

#include <meshkit/endpoint.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <system_error>
#include <variant>

namespace meshkit {

/** Names one stream of one stream transport.

    A transport never hands out the same id twice in its life, so an id
    kept after its stream closed can never name a newer stream. A strong
    type: it does not convert to or from an integer by accident
    (`static_cast<std::uint64_t>(id)` prints it).
*/
enum class stream_id : std::uint64_t {};

/** A stream opened: `connect` succeeded (`inbound` false), or a peer connected to us (`inbound` true).

    `peer` is the address the other end is seen at. For an outbound stream
    it is the address given to `connect`; for an inbound one it is the
    connecting socket's address, whose port is an ephemeral one: it is not
    the peer's listening address, so a protocol that needs that must say it
    in a frame.
*/
struct stream_connected {
    stream_id id{};
    endpoint peer;
    bool inbound = false;
};

/// One frame arrived, whole and in order. `bytes` is valid until the handler returns.
struct stream_frame {
    stream_id id{};
    std::span<std::byte const> bytes;
};

/** A stream ended; its id is dead from now on.

    Every id that `connect` returned or a `stream_connected` announced gets
    exactly one `stream_closed`, whatever ended it (unless the transport is
    destroyed first). `reason` is a `meshkit::stream_errc`: `closed_by_peer`,
    `closed_locally`, `connection_reset`, `refused`, `unreachable` or
    `peer_frame_too_large`; a TCP transport may pass an operating-system
    error it has no better name for.
*/
struct stream_closed {
    stream_id id{};
    std::error_code reason;
};

/** A stream whose `send` returned `stream_errc::queue_full` has room again.

    Raised once per refusal spell, when the stream's queued bytes have
    fallen to half of `max_queued_bytes()` or below. Backpressure is
    explicit, as in QUIC stacks: the sender learns when to retry instead of
    polling.
*/
struct stream_writable {
    stream_id id{};
};

/// Everything a stream transport reports, one event at a time.
using stream_event = std::variant<stream_connected, stream_frame, stream_closed, stream_writable>;

/// What a stream transport calls for each event.
using stream_handler = std::function<void(stream_event const&)>;

} // namespace meshkit

#endif // MESHKIT_STREAM_EVENTS_HPP

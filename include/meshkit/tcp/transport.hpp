// tcp/transport.hpp
// ~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_TCP_TRANSPORT_HPP
#define MESHKIT_TCP_TRANSPORT_HPP

#include <meshkit/concepts/stream_transport.hpp>
#include <meshkit/detail/asio_endpoint.hpp>
#include <meshkit/endpoint.hpp>
#include <meshkit/stream_error.hpp>
#include <meshkit/stream_events.hpp>
#include <meshkit/stream_settings.hpp>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <span>
#include <system_error>
#include <vector>

namespace meshkit::tcp {

/// What a `tcp::transport` counted.
struct transport_stats {
    std::uint64_t accepted = 0;         ///< inbound streams opened
    std::uint64_t connected = 0;        ///< outbound streams opened
    std::uint64_t refused = 0;          ///< connects answered with a refusal
    std::uint64_t unreachable = 0;      ///< connects that failed for want of an answer or a route
    std::uint64_t resets = 0;           ///< open streams lost without a graceful close
    std::uint64_t frames_sent = 0;      ///< frames the kernel took whole
    std::uint64_t frames_received = 0;  ///< frames handed to the handler
    std::uint64_t oversized_frames = 0; ///< peers that announced a frame over `max_frame_size` (each was disconnected)
    std::uint64_t accept_errors = 0;    ///< failed accepts (out of descriptors, say); accepting resumes 100 ms later
};

/** A TCP listener and its connections on an `asio::io_context`; models `meshkit::stream_transport`.

    Each frame goes on the wire as a 4-byte big-endian length and then that
    many bytes. Both directions are bounded: `send` refuses a frame over
    `max_frame_size()`, and a peer that announces one is disconnected (reset)
    before a byte of it is read or a buffer allocated, with
    `peer_frame_too_large` and a count in `stats().oversized_frames`. Each
    stream queues at most `max_queued_bytes()` (frames with their headers)
    that the kernel has not taken yet; past that `send` returns `queue_full`
    and accepts nothing, and a `stream_writable` event says when to retry.

    Every handler runs from the `io_context`, never inside `connect`, `send`
    or `close`: what a call causes is posted. A destroyed transport calls no
    handler: pending completions find its shared state marked dead, as
    `udp::transport`'s do. A handler may call any member, and may destroy
    the transport. Nagle's algorithm is off (`TCP_NODELAY`): frames are
    protocol messages, and latency matters more than packet count.

    See docs/tcp.md for framing, bounds, errors and lifecycle.

    @par Thread safety
    <em>Distinct objects</em>: Safe. <em>Shared objects</em>: Unsafe. Use
    one transport from the thread that runs its `io_context`.
*/
class transport {
public:
    /** Listens at `at` (port 0: the kernel picks one; unspecified: `127.0.0.1`, port 0).

        @throws std::system_error if the socket cannot be opened, bound or
        put in listening mode; `std::invalid_argument` if `settings` fail
        `stream_settings::validate()`.
    */
    transport(asio::io_context& io, endpoint const& at, stream_settings settings = {});

    transport(transport const&) = delete;
    transport& operator=(transport const&) = delete;

    /// Closes the listener and every connection at once; no handler runs afterwards.
    ~transport();

    /// The address and port the listener is bound at.
    [[nodiscard]] endpoint local_endpoint() const noexcept;

    /** Starts connecting to `to`; the outcome is an event.

        `stream_connected`, or `stream_closed` with `refused` (nothing
        listens there), `unreachable` (no route, or no answer within
        `connect_timeout`), or the socket's own error.
    */
    [[nodiscard("the id names the stream in every later event")]] stream_id connect(endpoint const& to);

    /** Queues one frame on an open stream; success means queued, not delivered.

        @return `stream_errc::frame_too_large`, `queue_full` or
        `not_connected`; in each case nothing was queued.
    */
    std::error_code send(stream_id id, std::span<std::byte const> frame);

    /** Closes a stream: what it queued is still sent, then the peer sees `closed_by_peer`.

        This side gets `closed_locally` (posted) and no other event for the
        id. The socket is closed once the peer closes its side too, or after
        `close_timeout`. A no-op on an unknown or closed id.
    */
    void close(stream_id id);

    /// Installs the handler every stream event goes to, replacing any earlier one.
    void on_stream(stream_handler h);

    /// The largest frame `send` accepts and the largest a peer may announce.
    [[nodiscard]] std::size_t max_frame_size() const noexcept;

    /// Addresses on this transport are TCP addresses: what it reports, and what a node sends frames to.
    static constexpr transport_protocol protocol = transport_protocol::tcp;

    /// The most bytes one stream may have queued (frames plus 4-byte headers) that the kernel has not taken.
    [[nodiscard]] std::size_t max_queued_bytes() const noexcept;

    /// Bytes queued on `id` (0 for an unknown id).
    [[nodiscard]] std::size_t queued_bytes(stream_id id) const noexcept;

    /// Streams that are connecting or open.
    [[nodiscard]] std::size_t open_streams() const noexcept;

    /// What the transport counted.
    [[nodiscard]] transport_stats const& stats() const noexcept;

    /// Converts between meshkit's endpoint and Asio's.
    static asio::ip::tcp::endpoint to_asio(endpoint const& e);
    static endpoint from_asio(asio::ip::tcp::endpoint const& a);

private:
    struct connection;
    struct core;
    std::shared_ptr<core> core_;
};

} // namespace meshkit::tcp

#include <meshkit/tcp/impl/transport.hpp>

#endif // MESHKIT_TCP_TRANSPORT_HPP

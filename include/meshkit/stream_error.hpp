// stream_error.hpp
// ~~~~~~~~~~~~~~~~
#ifndef MESHKIT_STREAM_ERROR_HPP
#define MESHKIT_STREAM_ERROR_HPP

#include <string>
#include <system_error>
#include <type_traits>

namespace meshkit {

/** Why a stream closed, or why a stream call refused its arguments.

    Every model of `meshkit::stream_transport` reports these, so an engine
    handles the simulator and TCP with one `switch`. The values that have a
    POSIX counterpart compare equal to it through `std::errc`
    (`stream_errc::refused == std::errc::connection_refused`).

    Two groups: the reasons a `stream_closed` event carries (the first
    seven), and what `send` returns (`frame_too_large`, `queue_full`,
    `not_connected`).
*/
enum class stream_errc {
    /** The peer closed the stream gracefully: every frame it sent before closing was delivered. */
    closed_by_peer = 1,

    /** This side closed the stream with `close(id)`. */
    closed_locally,

    /** The stream was torn down without a graceful close: the peer crashed or reset it, a partition or an
        address change cut it, this host crashed (simulator), or the connection failed while in use. */
    connection_reset,

    /** Nothing accepts streams at that address: the host answered the connection attempt with a refusal. */
    refused,

    /** No answer within the connect timeout: the host is down, partitioned away, or not routable from here. */
    unreachable,

    /** `send`: the frame is larger than `max_frame_size()`. Nothing was queued. */
    frame_too_large,

    /** The peer announced a frame larger than this side's `max_frame_size()`; the stream was reset
        without reading (or allocating) it. */
    peer_frame_too_large,

    /** `send`: the frame would take the stream's queued bytes past `max_queued_bytes()`. Nothing was
        queued; a `stream_writable` event says when to try again. */
    queue_full,

    /** `send`: the stream is not open (an unknown id, one still connecting, or one already closed). */
    not_connected,
};

/// The category of `meshkit::stream_errc`.
inline std::error_category const& stream_category() noexcept
{
    struct category final : std::error_category {
        char const* name() const noexcept override { return "meshkit.stream"; }
        std::string message(int ev) const override
        {
            switch (static_cast<stream_errc>(ev)) {
            case stream_errc::closed_by_peer: return "stream closed by the peer";
            case stream_errc::closed_locally: return "stream closed by this side";
            case stream_errc::connection_reset: return "stream reset (peer crashed or reset, or the path was cut)";
            case stream_errc::refused: return "connection refused: nothing listens at that address";
            case stream_errc::unreachable: return "no answer within the connect timeout";
            case stream_errc::frame_too_large: return "frame exceeds the stream's frame size limit";
            case stream_errc::peer_frame_too_large: return "peer announced a frame over the frame size limit";
            case stream_errc::queue_full: return "stream send queue full, nothing accepted";
            case stream_errc::not_connected: return "stream is not open";
            }
            return "unknown stream error";
        }
        std::error_condition default_error_condition(int ev) const noexcept override
        {
            switch (static_cast<stream_errc>(ev)) {
            case stream_errc::connection_reset: return std::errc::connection_reset;
            case stream_errc::refused: return std::errc::connection_refused;
            case stream_errc::unreachable: return std::errc::host_unreachable;
            case stream_errc::frame_too_large:
            case stream_errc::peer_frame_too_large: return std::errc::message_size;
            case stream_errc::queue_full: return std::errc::resource_unavailable_try_again;
            case stream_errc::not_connected: return std::errc::not_connected;
            default: return {ev, *this};
            }
        }
    };
    static category const instance;
    return instance;
}

/// Makes `stream_errc` usable wherever a `std::error_code` is expected.
inline std::error_code make_error_code(stream_errc e) noexcept
{
    return {static_cast<int>(e), stream_category()};
}

} // namespace meshkit

template <>
struct std::is_error_code_enum<meshkit::stream_errc> : std::true_type {};

#endif // MESHKIT_STREAM_ERROR_HPP

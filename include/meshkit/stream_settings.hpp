// stream_settings.hpp
// ~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_STREAM_SETTINGS_HPP
#define MESHKIT_STREAM_SETTINGS_HPP

#include <chrono>
#include <cstddef>
#include <stdexcept>

namespace meshkit {

/** The bounds and timeout of a stream transport; `sim::stream_transport` and `tcp::transport` take them.

    Frames carry a 4-byte length prefix on the wire, and queued bytes count
    it: a frame of `n` bytes occupies `n + frame_header_size` of the queue.
*/
struct stream_settings {
    /// The bytes a frame's length prefix takes, on the wire and in the send queue.
    static constexpr std::size_t frame_header_size = 4;

    /// The largest frame `send` accepts and the largest a peer may announce (1 MiB).
    std::size_t max_frame_size = std::size_t{1} << 20;
    /// Per stream: bytes accepted by `send` and not yet handed to the network (4 MiB).
    std::size_t max_queued_bytes = std::size_t{4} << 20;
    /// How long `connect` waits for an answer before the stream closes as `unreachable`.
    std::chrono::milliseconds connect_timeout{3000};
    /** How long a closed TCP stream may take to send what it had queued and see the peer close,
        before its socket is closed regardless. (Simulated queues always drain: the simulator needs none.) */
    std::chrono::milliseconds close_timeout{3000};

    /** Throws `std::invalid_argument` unless one frame of the largest size fits in the queue.

        A queue smaller than a frame would refuse that frame for ever, so
        transports check this when they are built.
    */
    void validate() const
    {
        if (max_queued_bytes < max_frame_size + frame_header_size)
            throw std::invalid_argument("meshkit::stream_settings: max_queued_bytes must hold one frame of "
                                        "max_frame_size plus its 4-byte header");
        if (connect_timeout <= std::chrono::milliseconds::zero() || close_timeout <= std::chrono::milliseconds::zero())
            throw std::invalid_argument("meshkit::stream_settings: connect_timeout and close_timeout must be positive");
    }
};

} // namespace meshkit

#endif // MESHKIT_STREAM_SETTINGS_HPP

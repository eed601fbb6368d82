// udp/socket_settings.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_UDP_SOCKET_SETTINGS_HPP
#define MESHKIT_UDP_SOCKET_SETTINGS_HPP

#include <cstddef>
#include <stdexcept>

namespace meshkit::udp {

/** How a `udp::transport` sizes its socket buffers and its batches.

    The buffer sizes are requests: the kernel caps them (on Linux at
    `net.core.rmem_max` and `net.core.wmem_max`) unless the process may use
    `SO_RCVBUFFORCE`/`SO_SNDBUFFORCE` (`CAP_NET_ADMIN`, which root has).
    `transport::receive_buffer_size()` and `send_buffer_size()` say what was
    granted. See docs/udp.md, "Socket buffers".

    @par Example
    @code
    meshkit::udp::transport t{io, at, {.receive_buffer = 16 << 20, .batch = 64}};
    @endcode
*/
struct socket_settings {
    /// `SO_RCVBUF` requested, in bytes (4 MiB): what queues while the `io_context` is busy elsewhere. 0 keeps the kernel's default.
    std::size_t receive_buffer = std::size_t{4} << 20;
    /// `SO_SNDBUF` requested, in bytes (1 MiB). 0 keeps the kernel's default.
    std::size_t send_buffer = std::size_t{1} << 20;
    /** The most datagrams one `recvmmsg` or `sendmmsg` call moves (32), from 1 to 1024.

        It is also the number of slots in the send queue: a full queue is
        flushed at once, so with 1 every `send` is one system call made
        inside `send`, as without batching.
    */
    std::size_t batch = 32;

    /// The largest `batch` accepted: Linux's limit on one `sendmmsg`/`recvmmsg` call (`UIO_MAXIOV`).
    static constexpr std::size_t max_batch = 1024;

    /// Throws `std::invalid_argument` unless `batch` is between 1 and `max_batch`.
    void validate() const
    {
        if (batch == 0 || batch > max_batch)
            throw std::invalid_argument("meshkit::udp::socket_settings: batch must be between 1 and 1024");
    }
};

} // namespace meshkit::udp

#endif // MESHKIT_UDP_SOCKET_SETTINGS_HPP

// udp/transport_stats.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_UDP_TRANSPORT_STATS_HPP
#define MESHKIT_UDP_TRANSPORT_STATS_HPP

#include <cstdint>

namespace meshkit::udp {

/** What a `udp::transport` counted since its socket opened; `transport::stats()` returns it.

    Every datagram the kernel queued for the socket ends in exactly one of
    `datagrams_received`, `truncated` or `kernel_receive_drops` (the last
    also counts the few the kernel rejects for other reasons, see below), so
    loss at this host is never silent. Every datagram `send` accepted ends
    in `datagrams_sent` or `send_dropped`. See docs/udp.md, "Counters".
*/
struct transport_stats {
    /** Datagrams read from the socket and handed to the `on_receive` handler.

        The denominator for every other receive counter.
    */
    std::uint64_t datagrams_received = 0;

    /** Datagrams the kernel accepted from `send`, counted when the send queue is flushed.

        Sent, not delivered: loss further on is silent, as UDP is.
    */
    std::uint64_t datagrams_sent = 0;

    /** `recvmmsg` calls that returned at least one datagram (off Linux: receive calls).

        `datagrams_received / receive_batches` is the mean batch. Near 1
        means the socket is rarely backed up (light load, nothing to do);
        near `socket_settings::batch` under load means the batches are full
        and a larger `batch` would save system calls.
    */
    std::uint64_t receive_batches = 0;

    /** `sendmmsg` calls that sent at least one datagram (off Linux: send calls).

        `datagrams_sent / send_batches` is the mean batch: how many
        datagrams one handler sends before the queue is flushed.
    */
    std::uint64_t send_batches = 0;

    /** Datagrams the kernel dropped on arrival because the receive buffer was full.

        The socket's own drop counter (Linux: `SO_RXQ_OVFL` on each datagram,
        and `SO_MEMINFO` when `stats()` is called), which also counts the rare
        datagram refused for a bad checksum or by a socket filter. Always 0
        off Linux. If it grows, the `io_context` thread does not keep up
        with bursts: raise `socket_settings::receive_buffer` (and
        `net.core.rmem_max`, or run with `CAP_NET_ADMIN`), check that
        `receive_buffer_size()` shows the size granted, and keep handlers
        short.
    */
    std::uint64_t kernel_receive_drops = 0;

    /** Datagrams longer than a receive slot, dropped without being delivered.

        A slot holds `max(2048, max_datagram_size())` bytes, so a meshkit
        peer with the same limit never causes one. If it grows, a peer sends
        larger datagrams than this node accepts (a different
        `set_max_datagram_size`) or something that is not a meshkit node
        sends to the port.
    */
    std::uint64_t truncated = 0;

    /** Datagrams `send` accepted that the kernel then refused, and so were never sent.

        Mostly a full send buffer or device queue (`EAGAIN`, `ENOBUFS`);
        those are only counted. Refusals that concern the destination (no
        route, say) are also reported to the `on_error` handler with it. If
        it grows with `EAGAIN`/`ENOBUFS`, the node sends faster than the
        interface drains: raise `socket_settings::send_buffer` (and
        `net.core.wmem_max`) or send less.
    */
    std::uint64_t send_dropped = 0;
};

} // namespace meshkit::udp

#endif // MESHKIT_UDP_TRANSPORT_STATS_HPP

// udp/transport.hpp
// ~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_UDP_TRANSPORT_HPP
#define MESHKIT_UDP_TRANSPORT_HPP

#include <meshkit/concepts/transport.hpp>
#include <meshkit/detail/asio_endpoint.hpp>
#include <meshkit/endpoint.hpp>
#include <meshkit/error.hpp>

#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/ip/udp.hpp>
#include <asio/ip/v6_only.hpp>

#if defined(__linux__)
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <sys/socket.h>
#endif

#include <array>
#include <cstddef>
#include <cstring>
#include <functional>
#include <memory>
#include <span>
#include <system_error>
#include <utility>
#include <vector>

namespace meshkit::udp {

/** What a `udp::transport` calls when the socket reports an error.

    `peer` is the destination the error concerns (the address an ICMP
    "port unreachable" came back for), or unspecified when the kernel did
    not say.
*/
using error_handler = std::function<void(std::error_code const& ec, endpoint const& peer)>;

/** A UDP socket on an `asio::io_context`; models `meshkit::transport`.

    Datagrams are limited to 1,200 bytes by default: the largest payload that
    crosses every IPv6 path without fragmentation (RFC 8200's 1,280-byte
    minimum MTU, less headers), as QUIC chose. A larger send is refused with
    `errc::message_too_large` rather than fragmented.

    Socket errors never throw out of the receive loop. On Linux the socket
    asks for ICMP errors (`IP_RECVERR`), so a datagram sent to a closed port
    comes back as `connection_refused` naming that destination; every such
    report, and any other receive error, goes to the `on_error` handler and
    the loop carries on. Engines can treat it as an immediate failure signal
    instead of waiting for a timeout. Sends are non-blocking: if the kernel's buffer is full
    the datagram is dropped and `send` says so (`would_block`), which is
    what UDP would do one hop later anyway.

    @par Thread safety
    <em>Distinct objects</em>: Safe. <em>Shared objects</em>: Unsafe. Use
    one transport from the thread that runs its `io_context`.
*/
class transport {
public:
    /// The default datagram limit.
    static constexpr std::size_t default_max_datagram = 1200;

    /** Opens a socket bound at `at` (port 0: the kernel picks one).

        @throws std::system_error if the socket cannot be opened or bound:
        a configuration error, reported where it is made.
    */
    transport(asio::io_context& io, endpoint const& at)
        : socket_(io), state_(std::make_shared<receive_state>())
    {
        asio::ip::udp::endpoint const local = to_asio(at.is_unspecified() ? endpoint::v4(0x7f000001, 0) : at);
        socket_.open(local.protocol());
        if (local.address().is_v6())
            socket_.set_option(asio::ip::v6_only(false));
        socket_.bind(local);
        socket_.non_blocking(true);
        enable_icmp_errors();
        local_ = from_asio(socket_.local_endpoint());
        receive();
    }

    transport(transport const&) = delete;
    transport& operator=(transport const&) = delete;

    ~transport()
    {
        // The pending receive completes with operation_aborted after this
        // object is gone; it only touches the shared state, which it owns.
        state_->alive = false;
        std::error_code ignored;
        socket_.close(ignored);
    }

    [[nodiscard]] endpoint local_endpoint() const { return local_; }

    std::error_code send(endpoint const& to, std::span<std::byte const> bytes)
    {
        if (bytes.size() > max_datagram_)
            return errc::message_too_large;
        std::error_code ec;
        socket_.send_to(asio::buffer(bytes.data(), bytes.size()), to_socket_family(to), 0, ec);
        if (ec && is_icmp_report(ec)) {
            // Linux hands a pending ICMP error to whichever call comes next,
            // so this send failed for an earlier datagram to another peer.
            // Report that one from the error queue, then send this one. The
            // report is posted, never delivered from inside send(): engines
            // send while iterating their views, and a synchronous
            // on_unreachable would erase from the view being iterated.
            auto reports = drain_errors();
            if (reports.empty())
                reports.emplace_back(ec, endpoint{});
            asio::post(socket_.get_executor(), [state = state_, reports = std::move(reports)] {
                for (auto const& [e, peer] : reports)
                    if (state->alive && state->on_error)
                        state->on_error(e, peer);
            });
            ec.clear();
            socket_.send_to(asio::buffer(bytes.data(), bytes.size()), to_socket_family(to), 0, ec);
        }
        return ec;
    }

    void on_receive(receive_handler h) { state_->on_receive = std::move(h); }

    /// Installs the handler for socket errors (ICMP unreachable and others).
    void on_error(error_handler h) { state_->on_error = std::move(h); }

    [[nodiscard]] std::size_t max_datagram_size() const noexcept { return max_datagram_; }

    /// Changes the datagram limit, e.g. for a path known to carry more.
    void set_max_datagram_size(std::size_t n) noexcept { max_datagram_ = n; }

    /// Converts between meshkit's endpoint and Asio's.
    static asio::ip::udp::endpoint to_asio(endpoint const& e) { return detail::to_asio<asio::ip::udp::endpoint>(e); }
    static endpoint from_asio(asio::ip::udp::endpoint const& a) { return detail::from_asio(a); }

private:
    static bool is_icmp_report(std::error_code const& ec) noexcept
    {
        return ec == asio::error::connection_refused || ec == asio::error::host_unreachable ||
               ec == asio::error::network_unreachable;
    }

    // A dual-stack IPv6 socket needs IPv4 destinations in ::ffff: form.
    asio::ip::udp::endpoint to_socket_family(endpoint const& e) const
    {
        if (local_.is_v4() || !e.is_v4())
            return to_asio(e);
        asio::ip::address_v6::bytes_type b;
        std::memcpy(b.data(), e.ip.data(), 16);
        return {asio::ip::address_v6(b), e.port};
    }

    // Lives as long as the pending receive, so a completion after the
    // transport is destroyed finds valid memory and does nothing.
    struct receive_state {
        bool alive = true;
        receive_handler on_receive;
        error_handler on_error;
        std::array<std::byte, 65536> buffer;
        asio::ip::udp::endpoint from;
    };

    void receive()
    {
        auto state = state_;
        socket_.async_receive_from(
            asio::buffer(state->buffer), state->from, [this, state](std::error_code ec, std::size_t n) {
                if (!state->alive || ec == asio::error::operation_aborted)
                    return;
                // Re-arm even if a handler throws, or the socket would go deaf.
                struct rearm {
                    transport* self;
                    receive_state* s;
                    ~rearm()
                    {
                        if (s->alive) // a handler may have destroyed the transport
                            self->receive();
                    }
                } const guard{this, state.get()};
                if (ec)
                    report_errors(*state, ec);
                else if (state->on_receive)
                    state->on_receive(from_asio(state->from), std::span<std::byte const>(state->buffer.data(), n));
            });
    }

    void enable_icmp_errors()
    {
#if defined(__linux__)
        int const on = 1;
        int const fd = socket_.native_handle();
        if (socket_.local_endpoint().address().is_v6())
            ::setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &on, sizeof on);
        ::setsockopt(fd, IPPROTO_IP, IP_RECVERR, &on, sizeof on);
#endif
    }

    // Reports what the error queue holds (or the bare error if it holds
    // nothing); called from the receive completion, outside any send.
    void report_errors(receive_state& state, std::error_code ec)
    {
        auto reports = drain_errors();
        if (reports.empty())
            reports.emplace_back(ec, endpoint{});
        for (auto const& [e, peer] : reports)
            if (state.alive && state.on_error)
                state.on_error(e, peer);
    }

    // Reads the socket's error queue: each entry names the destination an
    // ICMP error came back for. Empty without IP_RECVERR or off Linux.
    std::vector<std::pair<std::error_code, endpoint>> drain_errors()
    {
        std::vector<std::pair<std::error_code, endpoint>> reports;
#if defined(__linux__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wold-style-cast"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wcast-align"
        for (int i = 0; i < 64; ++i) { // bounded: the queue is finite anyway
            ::sockaddr_storage addr{};
            alignas(::cmsghdr) char control[512];
            char data[64];
            ::iovec iov{data, sizeof data};
            ::msghdr msg{};
            msg.msg_name = &addr;
            msg.msg_namelen = sizeof addr;
            msg.msg_iov = &iov;
            msg.msg_iovlen = 1;
            msg.msg_control = control;
            msg.msg_controllen = sizeof control;
            if (::recvmsg(socket_.native_handle(), &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
                break;
            for (::cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
                bool const v4 = c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR;
                bool const v6 = c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR;
                if (!v4 && !v6)
                    continue;
                ::sock_extended_err err;
                std::memcpy(&err, CMSG_DATA(c), sizeof err);
                reports.emplace_back(std::error_code(static_cast<int>(err.ee_errno), std::system_category()),
                                     from_sockaddr(addr));
            }
        }
#pragma GCC diagnostic pop
#endif
        return reports;
    }

#if defined(__linux__)
    static endpoint from_sockaddr(::sockaddr_storage const& a)
    {
        endpoint e;
        if (a.ss_family == AF_INET) {
            ::sockaddr_in in;
            std::memcpy(&in, &a, sizeof in);
            return endpoint::v4(ntohl(in.sin_addr.s_addr), ntohs(in.sin_port));
        }
        if (a.ss_family == AF_INET6) {
            ::sockaddr_in6 in6;
            std::memcpy(&in6, &a, sizeof in6);
            std::memcpy(e.ip.data(), in6.sin6_addr.s6_addr, 16);
            e.port = ntohs(in6.sin6_port);
        }
        return e;
    }
#endif

    asio::ip::udp::socket socket_;
    std::shared_ptr<receive_state> state_;
    endpoint local_;
    std::size_t max_datagram_ = default_max_datagram;
};

} // namespace meshkit::udp

#endif // MESHKIT_UDP_TRANSPORT_HPP

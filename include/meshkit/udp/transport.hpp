// udp/transport.hpp
// ~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_UDP_TRANSPORT_HPP
#define MESHKIT_UDP_TRANSPORT_HPP

#include <meshkit/birthday_probe.hpp>
#include <meshkit/concepts/transport.hpp>
#include <meshkit/detail/asio_endpoint.hpp>
#include <meshkit/endpoint.hpp>
#include <meshkit/error.hpp>
#include <meshkit/udp/socket_settings.hpp>
#include <meshkit/udp/transport_stats.hpp>

#include <asio/error.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/multicast.hpp>
#include <asio/ip/udp.hpp>
#include <asio/ip/v6_only.hpp>
#include <asio/post.hpp>
#include <asio/socket_base.hpp>
#include <asio/steady_timer.hpp>

#if defined(__linux__)
#include <linux/errqueue.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>
#endif

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <span>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

/*  Linux moves datagrams in batches with recvmmsg/sendmmsg. Elsewhere, or
    with MESHKIT_UDP_NO_MMSG defined (to test the portable path on Linux),
    the same queue and loop make one call per datagram.
*/
#if defined(__linux__) && !defined(MESHKIT_UDP_NO_MMSG)
#define MESHKIT_UDP_DETAIL_MMSG 1
#else
#define MESHKIT_UDP_DETAIL_MMSG 0
#endif

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

    Datagrams move in batches. On Linux, a readable socket is drained with
    `recvmmsg`, up to `socket_settings::batch` datagrams per call and
    `max_batches_per_wakeup` calls per wakeup, into buffers allocated once.
    `send` copies the datagram into a queue of `batch` slots and returns;
    the queue goes out in one `sendmmsg` when it is full, or else when the
    handler that called `send` has returned (one flush is posted to the
    `io_context`), or when `flush()` is called. So `send` succeeding means
    "queued": a datagram the kernel later refuses (full buffer) is counted
    in `stats().send_dropped`, not returned.

    Socket errors never throw out of the receive loop. On Linux the socket
    asks for ICMP errors (`IP_RECVERR`), so a datagram sent to a closed port
    comes back as `connection_refused` naming that destination; every such
    report, and any other receive error, goes to the `on_error` handler and
    the loop carries on. Engines can treat it as an immediate failure signal
    instead of waiting for a timeout. Datagrams the kernel dropped because
    the receive buffer was full are counted (`stats().kernel_receive_drops`).

    See docs/udp.md.

    @par Thread safety
    <em>Distinct objects</em>: Safe. <em>Shared objects</em>: Unsafe. Use
    one transport from the thread that runs its `io_context`.
*/
class transport {
public:
    /// The default datagram limit.
    static constexpr std::size_t default_max_datagram = 1200;

    /// The smallest slot a datagram is received into or queued in; a slot also holds `max_datagram_size()`.
    static constexpr std::size_t min_slot_size = 2048;

    /// The most `recvmmsg` calls one wakeup makes before the `io_context` runs other handlers.
    static constexpr std::size_t max_batches_per_wakeup = 8;

    /** Opens a socket bound at `at` (port 0: the kernel picks one) with default `socket_settings`.

        @throws std::system_error if the socket cannot be opened or bound:
        a configuration error, reported where it is made.
    */
    transport(asio::io_context& io, endpoint const& at) : transport(io, at, socket_settings{}) {}

    /** Opens a socket bound at `at`, with buffers and batches sized by `settings`.

        @throws std::system_error if the socket cannot be opened or bound;
        `std::invalid_argument` if `settings` fail `socket_settings::validate()`.
    */
    transport(asio::io_context& io, endpoint const& at, socket_settings const& settings)
        : socket_(io), state_(std::make_shared<shared_state>())
    {
        settings.validate();
        asio::ip::udp::endpoint const local = to_asio(at.is_unspecified() ? endpoint::v4(0x7f000001, 0) : at);
        socket_.open(local.protocol());
        if (local.address().is_v6())
            socket_.set_option(asio::ip::v6_only(false));
        socket_.bind(local);
        socket_.non_blocking(true);
        fd_ = socket_.native_handle();
        request_buffer(asio::socket_base::receive_buffer_size{}, settings.receive_buffer);
        request_buffer(asio::socket_base::send_buffer_size{}, settings.send_buffer);
        enable_icmp_errors();
        enable_drop_counter();
        local_ = from_asio(socket_.local_endpoint());
        state_->batch = settings.batch;
        state_->slot = std::max(min_slot_size, max_datagram_);
        state_->tx.resize(settings.batch);
        state_->tx_bytes.resize(settings.batch * state_->slot);
        state_->tx_stride = state_->slot;
        wait_readable();
    }

    transport(transport const&) = delete;
    transport& operator=(transport const&) = delete;

    /// Sends what is queued, then closes the socket; no handler runs afterwards.
    ~transport()
    {
        try {
            flush();
        } catch (...) { // a report that could not be allocated: nobody would hear it now anyway
        }
        // What is still posted (a receive wakeup, a flush, error reports)
        // runs after this object is gone; it only touches the shared state,
        // which it owns, and finds it dead.
        state_->alive = false;
        std::error_code ignored;
        socket_.close(ignored);
        if (group_)
            group_->socket.close(ignored);
        for (auto const& b : birthday_)
            b->socket.close(ignored);
    }

    [[nodiscard]] endpoint local_endpoint() const { return local_; }

    /** Queues one datagram for `to`; it goes out when the queue is flushed (see the class).

        @return `errc::message_too_large` above `max_datagram_size()`, or
        `address_family_not_supported` for an IPv6 destination on an IPv4
        socket; nothing is queued then. Otherwise success: the datagram is
        queued, and a refusal by the kernel is counted in
        `stats().send_dropped` (and reported to `on_error` when it concerns
        the destination).
    */
    std::error_code send(endpoint const& to, std::span<std::byte const> bytes)
    {
        if (bytes.size() > max_datagram_)
            return errc::message_too_large;
        if (local_.is_v4() && !to.is_v4())
            return asio::error::address_family_not_supported;
        for (auto const& b : birthday_)
            if (b->routed == to) { // the extra socket whose NAT mapping `to` reached (birthday_probe.hpp)
                std::error_code ec;
                b->socket.send_to(asio::buffer(bytes.data(), bytes.size()), to_asio(to), 0, ec);
                if (ec)
                    ++state_->stats.send_dropped;
                else
                    ++state_->stats.datagrams_sent;
                return {};
            }
        shared_state& s = *state_;
        queued& q = s.tx[s.tx_count];
        q.to = to_socket_family(to);
        q.peer = to;
        q.size = bytes.size();
        if (!bytes.empty())
            std::memcpy(s.tx_bytes.data() + s.tx_count * s.tx_stride, bytes.data(), bytes.size());
        ++s.tx_count;
        if (s.tx_count == s.tx.size()) {
            flush();
        } else if (!s.flush_posted) {
            // One flush per handler, whatever it sends: it runs once the
            // handler that is sending now has returned.
            s.flush_posted = true;
            asio::post(socket_.get_executor(), [this, state = state_] {
                state->flush_posted = false;
                if (state->alive)
                    flush();
            });
        }
        return {};
    }

    /** Hands every queued datagram to the kernel now.

        Never calls a handler: errors met here are posted to `on_error`.
    */
    void flush()
    {
        shared_state& s = *state_;
        std::size_t const count = s.tx_count;
        if (count == 0)
            return;
        s.tx_count = 0;
        std::vector<error_report> reports;
        bool swallowed = false; // a short batch: the kernel refused one and sendmmsg kept the error to itself
        bool retried = false;
        std::size_t i = 0;
        while (i < count) {
            std::error_code ec;
            std::size_t asked = 0;
            std::size_t const sent = send_some(s, i, count, asked, ec);
            if (sent > 0) {
                ++s.stats.send_batches;
                s.stats.datagrams_sent += sent;
                i += sent;
                swallowed = swallowed || sent < asked;
                retried = false;
                continue;
            }
            if (is_errno(ec, EINTR))
                continue;
            if (is_icmp_report(ec) && !retried) {
                // Linux hands a pending ICMP error to whichever call comes
                // next, so this datagram met an error that belongs to an
                // earlier one, perhaps to another peer. Report that one from
                // the error queue, then send this one again, once.
                collect_reports(reports, ec);
                retried = true;
                continue;
            }
            if (is_errno(ec, EAGAIN) || is_errno(ec, EWOULDBLOCK) || is_errno(ec, ENOBUFS)) {
                // No room in the kernel now; asking again for each of the
                // rest would cost a system call apiece for the same answer.
                s.stats.send_dropped += count - i;
                break;
            }
            ++s.stats.send_dropped;
            if (is_icmp_report(ec))
                collect_reports(reports, ec); // another pending error met the retry
            else
                reports.emplace_back(ec, s.tx[i].peer);
            ++i;
            retried = false;
        }
        if (swallowed)
            collect_reports(reports, {});
        post_reports(std::move(reports));
    }

    void on_receive(receive_handler h) { state_->on_receive = std::move(h); }

    /** Joins the IPv4 multicast group `group` on the interface with address `interface_v4` (host byte order;
        127.0.0.1 by default, a LAN interface's address in the field).

        Datagrams sent to the group (any member's `send(group, ...)`) reach
        every member's receive handler, the sender's own included, with the
        sender's unicast address as their source: replies go back unicast.
        The group has its own socket, bound to the group's port with
        `SO_REUSEADDR` so that every process on a host can join; outgoing
        multicast leaves through `interface_v4`, with a TTL of 1 (the LAN
        only) and loopback on. This is how `meshkit-node --role hierarchy
        --lan` hears its neighbours' beacons without knowing them.

        @throws std::system_error when the group cannot be joined (no such
        interface, not a multicast address), or std::invalid_argument for a
        non-IPv4 group or a second group.
    */
    void join_group(endpoint const& group, std::uint32_t interface_v4 = 0x7f000001)
    {
        if (!group.is_v4() || (group.v4_address() >> 28) != 0xE)
            throw std::invalid_argument("meshkit::udp::transport::join_group: not an IPv4 multicast address");
        if (group_)
            throw std::invalid_argument("meshkit::udp::transport::join_group: one group per transport");
        auto const itf = asio::ip::address_v4(interface_v4);
        socket_.set_option(asio::ip::multicast::outbound_interface(itf));
        socket_.set_option(asio::ip::multicast::hops(1));
        socket_.set_option(asio::ip::multicast::enable_loopback(true));
        auto g = std::make_shared<group_receiver>(socket_.get_executor(), state_->slot + 1);
        g->socket.open(asio::ip::udp::v4());
        g->socket.set_option(asio::socket_base::reuse_address(true));
        g->socket.bind(asio::ip::udp::endpoint(asio::ip::address_v4(group.v4_address()), group.port));
        g->socket.set_option(asio::ip::multicast::join_group(asio::ip::address_v4(group.v4_address()), itf));
        group_ = std::move(g);
        receive_group(state_, group_);
    }

    /// Installs the handler for socket errors (ICMP unreachable and others).
    void on_error(error_handler h) { state_->on_error = std::move(h); }

    // -- birthday probing (birthday_probe.hpp) ------------------------------------------

    /** Opens up to `count` extra sockets on this socket's address, each sending one birthday probe with `token` to `to`.

        Each socket's NAT mapping then admits `to`. A probe with `token`
        from `to`'s address that reaches one of them is a hit: the
        `on_birthday_hit` handler hears it, and from then on `send` to the
        prober goes through that socket (without batching), and what the
        prober sends there is received like anything else. Sockets without
        a hit close after `birthday_socket_lifetime`. At most
        `max_birthday_sockets` are open (a process has 1,024 descriptors by
        default), and at most `max_birthday_routes` carry a hit's traffic
        (the oldest route closes first).
        @return how many were opened (fewer when the process is out of descriptors).
    */
    std::size_t open_birthday_sockets(endpoint const& to, std::uint64_t token, std::size_t count)
    {
        if (local_.is_v4() && !to.is_v4())
            return 0;
        auto const probe = birthday_probe{token}.encode();
        auto const batch_timer = std::make_shared<asio::steady_timer>(socket_.get_executor());
        std::size_t opened = 0;
        while (opened < count && birthday_.size() < max_birthday_sockets) {
            auto b = std::make_shared<birthday_socket>(socket_.get_executor(), state_->slot + 1);
            std::error_code ec;
            asio::ip::udp::endpoint at = socket_.local_endpoint();
            at.port(0);
            b->socket.open(at.protocol(), ec);
            if (!ec && at.address().is_v6())
                b->socket.set_option(asio::ip::v6_only(false), ec);
            if (!ec)
                b->socket.bind(at, ec);
            if (ec)
                break; // out of descriptors or ports: what is open will do
            b->token = token;
            b->expected = to;
            b->batch = batch_timer.get();
            b->socket.send_to(asio::buffer(probe), to_socket_family(to), 0, ec);
            birthday_.push_back(b);
            receive_birthday(state_, b, this);
            ++opened;
        }
        // The batch's sockets without a hit close when their mappings would have lapsed anyway.
        batch_timer->expires_after(birthday_socket_lifetime);
        batch_timer->async_wait([this, state = state_, t = batch_timer](std::error_code ec) {
            if (ec || !state->alive)
                return;
            std::erase_if(birthday_, [&](auto const& b) {
                if (b->batch != t.get() || !b->routed.is_unspecified())
                    return false;
                std::error_code ignored;
                b->socket.close(ignored);
                return true;
            });
        });
        return opened;
    }

    /// Sends one birthday probe with `token` to `to` from this socket (queued like any datagram).
    std::error_code send_birthday_probe(endpoint const& to, std::uint64_t token)
    {
        auto const probe = birthday_probe{token}.encode();
        return send(to, probe);
    }

    /// Installs what runs on a birthday hit (see `open_birthday_sockets`).
    void on_birthday_hit(birthday_hit_handler h) { state_->on_birthday_hit = std::move(h); }

    /// Extra sockets open now, and birthday probes this socket dropped.
    [[nodiscard]] std::size_t birthday_sockets() const noexcept { return birthday_.size(); }
    [[nodiscard]] std::uint64_t birthday_probes_ignored() const noexcept { return state_->birthday_ignored; }

    static constexpr std::size_t max_birthday_sockets = 512;
    static constexpr std::size_t max_birthday_routes = 32;
    static constexpr std::chrono::seconds birthday_socket_lifetime{30};

    [[nodiscard]] std::size_t max_datagram_size() const noexcept { return max_datagram_; }

    /// Addresses on this transport are UDP addresses.
    static constexpr transport_protocol protocol = transport_protocol::udp;

    /** Changes the datagram limit, e.g. for a path known to carry more.

        A limit above the slot size (2,048 bytes) grows the slots: the send
        queue is flushed and reallocated now, the receive buffers before the
        next read.
    */
    void set_max_datagram_size(std::size_t n)
    {
        max_datagram_ = n;
        shared_state& s = *state_;
        std::size_t const slot = std::max(min_slot_size, n);
        if (slot <= s.slot)
            return;
        flush();
        s.slot = slot;
        s.tx_bytes.assign(s.tx.size() * slot, std::byte{});
        s.tx_stride = slot;
    }

    /** The receive buffer the kernel granted, in bytes (`SO_RCVBUF` read back).

        In the terms of the request: the size asked for, or less if the
        kernel capped it. (Linux reserves twice that, since it charges its
        bookkeeping to the buffer too; Asio halves what `getsockopt` says.)
    */
    [[nodiscard]] std::size_t receive_buffer_size() const
    {
        asio::socket_base::receive_buffer_size opt;
        socket_.get_option(opt);
        return static_cast<std::size_t>(opt.value());
    }

    /// The send buffer the kernel granted, in bytes (`SO_SNDBUF` read back, in the terms of the request).
    [[nodiscard]] std::size_t send_buffer_size() const
    {
        asio::socket_base::send_buffer_size opt;
        socket_.get_option(opt);
        return static_cast<std::size_t>(opt.value());
    }

    /** What the transport counted since the socket opened.

        On Linux this reads the socket's drop counter (one `getsockopt`), so
        `kernel_receive_drops` includes drops since the last datagram read.
    */
    [[nodiscard]] transport_stats stats() const
    {
        read_kernel_drops();
        return state_->stats;
    }

    /** Adds to `sink` what the transport counted since the last call, as `meshkit_udp_*_total` counters.

        The drops only this transport can see (the kernel's receive-buffer
        overflows, truncated datagrams, datagrams a full send buffer
        refused) and the batches, so a metrics sink, a Prometheus page or
        `meshkit-node`'s metrics line shows them beside the engines' own.
        `basic_node` calls it every second and on
        `basic_node::sample_transport_metrics()`.
    */
    template <class Sink>
    void report_metrics(Sink& sink)
    {
        transport_stats const now = stats();
        // Every counter, even at 0: a drop counter that exists at 0 tells
        // an operator "none yet", one that is missing tells nothing.
        auto add = [&](std::string_view name, std::uint64_t transport_stats::*counter) {
            sink.increment(name, now.*counter - reported_.*counter);
        };
        add("meshkit_udp_kernel_receive_drops_total", &transport_stats::kernel_receive_drops);
        add("meshkit_udp_truncated_total", &transport_stats::truncated);
        add("meshkit_udp_send_dropped_total", &transport_stats::send_dropped);
        add("meshkit_udp_datagrams_sent_total", &transport_stats::datagrams_sent);
        add("meshkit_udp_receive_batches_total", &transport_stats::receive_batches);
        add("meshkit_udp_send_batches_total", &transport_stats::send_batches);
        reported_ = now;
    }

    /// Converts between meshkit's endpoint and Asio's.
    static asio::ip::udp::endpoint to_asio(endpoint const& e) { return detail::to_asio<asio::ip::udp::endpoint>(e); }
    static endpoint from_asio(asio::ip::udp::endpoint const& a) { return detail::from_asio(a); }

private:
    using error_report = std::pair<std::error_code, endpoint>;

    /// A datagram waiting in the send queue; its bytes are in `tx_bytes`.
    struct queued {
        asio::ip::udp::endpoint to; // in the socket's family
        endpoint peer;              // as the caller named it, for reports
        std::size_t size = 0;
    };

#if MESHKIT_UDP_DETAIL_MMSG
    /// Room for the ancillary data of one received datagram (the drop counter).
    struct alignas(::cmsghdr) control_block {
        unsigned char bytes[64];
    };
#endif

    // Shared by the transport and everything it posts or leaves pending, so
    // a completion after the transport is destroyed finds valid memory and,
    // with `alive` false, does nothing. The buffers are allocated once.
    struct shared_state {
        bool alive = true;
        receive_handler on_receive;
        error_handler on_error;
        birthday_hit_handler on_birthday_hit;
        std::uint64_t birthday_ignored = 0;
        transport_stats stats;
        std::uint32_t drop_count = 0; // the kernel's 32-bit drop counter, as last seen
        std::size_t batch = 0;
        std::size_t slot = 0; // the slot size both directions use from now on

        // -- receive -------------------------------------------------------------------
        std::vector<std::byte> rx_bytes; // `batch` slots of `rx_stride` bytes
        std::size_t rx_stride = 0;
        std::size_t rx_count = 0; // datagrams the last recvmmsg returned
        std::size_t rx_next = 0;  // the next of them to deliver (a handler threw before the rest)
#if MESHKIT_UDP_DETAIL_MMSG
        std::vector<::mmsghdr> rx_msgs;
        std::vector<::iovec> rx_iov;
        std::vector<::sockaddr_storage> rx_from;
        std::vector<control_block> rx_control;
#else
        std::size_t rx_len = 0; // the datagram read
        endpoint rx_peer;       // and its sender
#endif

        // -- send ----------------------------------------------------------------------
        std::vector<queued> tx; // `batch` slots
        std::vector<std::byte> tx_bytes;
        std::size_t tx_stride = 0;
        std::size_t tx_count = 0;
        bool flush_posted = false;
#if MESHKIT_UDP_DETAIL_MMSG
        std::vector<::mmsghdr> tx_msgs;
        std::vector<::iovec> tx_iov;
#endif
    };

    static bool is_icmp_report(std::error_code const& ec) noexcept
    {
        return is_errno(ec, ECONNREFUSED) || is_errno(ec, EHOSTUNREACH) || is_errno(ec, ENETUNREACH);
    }

    /** Whether `ec` is the system error `e`, whichever category carries it.

        Our own system calls (recvmmsg, sendmmsg) report in
        `std::system_category()`; Asio's calls in its own "asio.system"
        category, whose codes compare equal neither to those nor to
        `std::errc` conditions. Comparing an errno code with
        `asio::error::would_block` is therefore always false: the receive
        loop once took every "nothing more to read" for an error.
    */
    static bool is_errno(std::error_code const& ec, int e) noexcept
    {
        return ec.value() == e &&
               (ec.category() == std::system_category() || ec.category() == asio::error::get_system_category());
    }

    /// A system error in `std::system_category()`, which compares equal to `std::errc` conditions (Asio's does not).
    static std::error_code portable(std::error_code const& ec) noexcept
    {
        return ec.category() == asio::error::get_system_category() ? std::error_code(ec.value(), std::system_category())
                                                                   : ec;
    }

    static std::error_code last_error() noexcept { return {errno, std::system_category()}; }

    // A dual-stack IPv6 socket needs IPv4 destinations in ::ffff: form.
    asio::ip::udp::endpoint to_socket_family(endpoint const& e) const
    {
        if (local_.is_v4() || !e.is_v4())
            return to_asio(e);
        asio::ip::address_v6::bytes_type b;
        std::memcpy(b.data(), e.ip.data(), 16);
        return {asio::ip::address_v6(b), e.port};
    }

    // -- socket options ------------------------------------------------------------------

    // Asks for `bytes` of buffer; if the kernel caps the request at its
    // maximum, asks again with the FORCE option, which ignores the maximum
    // but needs CAP_NET_ADMIN (root has it) and fails harmlessly without.
    template <class Option>
    void request_buffer(Option, std::size_t bytes)
    {
        if (bytes == 0)
            return;
        int const want = static_cast<int>(std::min<std::size_t>(bytes, INT_MAX / 2));
        std::error_code ignored;
        socket_.set_option(Option(want), ignored);
#if defined(__linux__)
        Option granted;
        socket_.get_option(granted, ignored);
        if (granted.value() < want) { // capped (Asio reads back in the request's terms, not Linux's doubled figure)
            constexpr bool receive = std::is_same_v<Option, asio::socket_base::receive_buffer_size>;
            ::setsockopt(fd_, SOL_SOCKET, receive ? SO_RCVBUFFORCE : SO_SNDBUFFORCE, &want, sizeof want);
        }
#endif
    }

    void enable_icmp_errors()
    {
#if defined(__linux__)
        int const on = 1;
        if (socket_.local_endpoint().address().is_v6())
            ::setsockopt(fd_, IPPROTO_IPV6, IPV6_RECVERR, &on, sizeof on);
        ::setsockopt(fd_, IPPROTO_IP, IP_RECVERR, &on, sizeof on);
#endif
    }

    // Each datagram then carries the socket's drop counter as it was when
    // the datagram was queued.
    void enable_drop_counter()
    {
#if defined(__linux__)
        int const on = 1;
        ::setsockopt(fd_, SOL_SOCKET, SO_RXQ_OVFL, &on, sizeof on);
#endif
    }

    // Adds what the kernel's 32-bit counter gained since last seen. Readings
    // arrive out of order (a datagram queued long ago carries an old value),
    // so one that is behind is ignored.
    static void note_drop_count(shared_state& s, std::uint32_t count) noexcept
    {
        std::uint32_t const gained = count - s.drop_count; // modulo 2^32: survives the counter wrapping
        if (gained != 0 && gained < 0x80000000u) {
            s.stats.kernel_receive_drops += gained;
            s.drop_count = count;
        }
    }

    // Reads the socket's drop counter now: datagrams carry it only as it was
    // when they were queued, so drops after the last one queued are seen here.
    void read_kernel_drops() const
    {
#if defined(__linux__) && defined(SO_MEMINFO)
        std::array<std::uint32_t, SK_MEMINFO_VARS> info{};
        ::socklen_t len = sizeof info;
        if (::getsockopt(fd_, SOL_SOCKET, SO_MEMINFO, info.data(), &len) == 0 &&
            len > SK_MEMINFO_DROPS * sizeof(std::uint32_t))
            note_drop_count(*state_, info[SK_MEMINFO_DROPS]);
#endif
    }

    // -- receiving -----------------------------------------------------------------------

    void wait_readable()
    {
        socket_.async_wait(asio::socket_base::wait_read, [this, state = state_](std::error_code ec) {
            if (!state->alive || ec == asio::error::operation_aborted)
                return;
            on_readable(*state, ec);
        });
    }

    void on_readable(shared_state& s, std::error_code ec)
    {
        // Re-arm even if a handler throws, or the socket would go deaf.
        struct rearm {
            transport* self;
            shared_state* s;
            ~rearm()
            {
                if (s->alive) // a handler may have destroyed the transport
                    self->resume();
            }
        } const guard{this, &s};
        if (ec)
            report_errors(s, ec);
        else
            drain(s);
    }

    // Waits for the socket again, or, if a handler threw with datagrams of
    // its batch still undelivered, comes back for those first: the socket
    // may have nothing more to wake us with.
    void resume()
    {
        if (state_->rx_next < state_->rx_count)
            asio::post(socket_.get_executor(), [this, state = state_] {
                if (state->alive)
                    on_readable(*state, {});
            });
        else
            wait_readable();
    }

    // The most datagrams one read returns.
    static std::size_t per_call(shared_state const& s) noexcept { return MESHKIT_UDP_DETAIL_MMSG ? s.batch : 1; }

    // Reads and delivers at most max_batches_per_wakeup batches. Returns
    // early, touching nothing of the transport, if a handler destroyed it.
    void drain(shared_state& s)
    {
        std::size_t const reads = MESHKIT_UDP_DETAIL_MMSG ? max_batches_per_wakeup : max_batches_per_wakeup * s.batch;
        for (std::size_t round = 0; round < reads; ++round) {
            if (s.rx_next == s.rx_count) {
                std::error_code ec;
                read_batch(s, ec);
                if (is_errno(ec, EAGAIN) || is_errno(ec, EWOULDBLOCK)) {
                    // Nothing to read. The wakeup may have come from the error
                    // queue alone (its ICMP error was taken by a send): read it,
                    // or the socket stays readable and wakes us for ever.
                    report_queued_errors(s);
                    return;
                }
                if (is_errno(ec, EINTR))
                    continue;
                if (ec) {
                    report_errors(s, ec);
                    if (!s.alive)
                        return;
                    continue; // datagrams may be waiting behind the error
                }
            }
            if (!deliver(s))
                return;
            if (s.rx_count < per_call(s))
                return; // a short batch: the socket had no more
        }
    }

#if MESHKIT_UDP_DETAIL_MMSG
    void read_batch(shared_state& s, std::error_code& ec)
    {
        if (s.rx_stride != s.slot || s.rx_msgs.size() != s.batch) { // first read, or the slots grew
            s.rx_bytes.assign(s.batch * s.slot, std::byte{});
            s.rx_stride = s.slot;
            s.rx_msgs.resize(s.batch);
            s.rx_iov.resize(s.batch);
            s.rx_from.resize(s.batch);
            s.rx_control.resize(s.batch);
        }
        for (std::size_t i = 0; i < s.batch; ++i) {
            s.rx_iov[i] = {s.rx_bytes.data() + i * s.rx_stride, s.rx_stride};
            ::msghdr& h = s.rx_msgs[i].msg_hdr;
            h = {};
            h.msg_name = &s.rx_from[i];
            h.msg_namelen = sizeof(::sockaddr_storage);
            h.msg_iov = &s.rx_iov[i];
            h.msg_iovlen = 1;
            h.msg_control = s.rx_control[i].bytes;
            h.msg_controllen = sizeof s.rx_control[i].bytes;
            s.rx_msgs[i].msg_len = 0;
        }
        int const n = ::recvmmsg(fd_, s.rx_msgs.data(), static_cast<unsigned>(s.batch), MSG_DONTWAIT, nullptr);
        if (n < 0) {
            ec = last_error();
            return;
        }
        s.rx_count = static_cast<std::size_t>(n);
        s.rx_next = 0;
        if (n > 0)
            ++s.stats.receive_batches;
    }

    // Delivers the rest of the batch; false if a handler destroyed the transport.
    static bool deliver(shared_state& s)
    {
        while (s.rx_next < s.rx_count) {
            std::size_t const i = s.rx_next++; // first, so a handler that throws does not see it twice
            ::mmsghdr const& m = s.rx_msgs[i];
            read_drop_count(s, m.msg_hdr);
            if (m.msg_hdr.msg_flags & MSG_TRUNC) {
                ++s.stats.truncated;
                continue;
            }
            ++s.stats.datagrams_received;
            std::span<std::byte const> const d(s.rx_bytes.data() + i * s.rx_stride, m.msg_len);
            if (birthday_probe::parse(d))
                ++s.birthday_ignored; // meant for an extra socket, or a stray: never the node's
            else if (s.on_receive)
                s.on_receive(from_sockaddr(s.rx_from[i]), d);
            if (!s.alive)
                return false;
        }
        return true;
    }

    static void read_drop_count(shared_state& s, ::msghdr const& h) noexcept
    {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wold-style-cast"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wcast-align"
        for (::cmsghdr const* c = CMSG_FIRSTHDR(&h); c; c = CMSG_NXTHDR(const_cast<::msghdr*>(&h), const_cast<::cmsghdr*>(c)))
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
                std::uint32_t count;
                std::memcpy(&count, CMSG_DATA(c), sizeof count);
                note_drop_count(s, count);
            }
#pragma GCC diagnostic pop
    }
#else
    // One datagram per call, into one slot with a byte to spare: a datagram
    // that fills it was longer than a slot.
    void read_batch(shared_state& s, std::error_code& ec)
    {
        if (s.rx_stride != s.slot + 1) {
            s.rx_bytes.assign(s.slot + 1, std::byte{});
            s.rx_stride = s.slot + 1;
        }
        asio::ip::udp::endpoint from;
        std::size_t const n = socket_.receive_from(asio::buffer(s.rx_bytes.data(), s.rx_stride), from, 0, ec);
        if (ec == asio::error::message_size) { // Windows reports a truncated datagram so
            ec.clear();
            ++s.stats.truncated;
            s.rx_count = s.rx_next = 1; // one read, nothing to deliver
            return;
        }
        if (ec)
            return;
        ++s.stats.receive_batches;
        s.rx_count = 1;
        s.rx_next = 0;
        s.rx_len = n;
        s.rx_peer = from_asio(from);
    }

    static bool deliver(shared_state& s)
    {
        if (s.rx_next == s.rx_count)
            return true;
        s.rx_next = s.rx_count;
        if (s.rx_len > s.slot) {
            ++s.stats.truncated;
            return true;
        }
        ++s.stats.datagrams_received;
        std::span<std::byte const> const d(s.rx_bytes.data(), s.rx_len);
        if (birthday_probe::parse(d))
            ++s.birthday_ignored;
        else if (s.on_receive)
            s.on_receive(s.rx_peer, d);
        return s.alive;
    }
#endif

    // -- sending -------------------------------------------------------------------------

    // Hands queued datagrams from `i` on to the kernel: `asked` of them, of
    // which it returns how many the kernel took (0: `ec` says why).
#if MESHKIT_UDP_DETAIL_MMSG
    std::size_t send_some(shared_state& s, std::size_t i, std::size_t count, std::size_t& asked, std::error_code& ec)
    {
        if (s.tx_msgs.size() != s.tx.size()) {
            s.tx_msgs.resize(s.tx.size());
            s.tx_iov.resize(s.tx.size());
        }
        asked = count - i;
        for (std::size_t k = i; k < count; ++k) {
            queued& q = s.tx[k];
            s.tx_iov[k] = {s.tx_bytes.data() + k * s.tx_stride, q.size};
            ::msghdr& h = s.tx_msgs[k].msg_hdr;
            h = {};
            h.msg_name = q.to.data();
            h.msg_namelen = static_cast<::socklen_t>(q.to.size());
            h.msg_iov = &s.tx_iov[k];
            h.msg_iovlen = 1;
            s.tx_msgs[k].msg_len = 0;
        }
        int const n = ::sendmmsg(fd_, s.tx_msgs.data() + i, static_cast<unsigned>(asked), MSG_DONTWAIT);
        if (n < 0) {
            ec = last_error();
            return 0;
        }
        return static_cast<std::size_t>(n);
    }
#else
    std::size_t send_some(shared_state& s, std::size_t i, std::size_t, std::size_t& asked, std::error_code& ec)
    {
        asked = 1;
        queued const& q = s.tx[i];
        socket_.send_to(asio::buffer(s.tx_bytes.data() + i * s.tx_stride, q.size), q.to, 0, ec);
        return ec ? 0 : 1;
    }
#endif

    // -- errors --------------------------------------------------------------------------

    // Appends what the error queue holds, or, if it holds nothing, `ec` (when
    // set) with no peer.
    void collect_reports(std::vector<error_report>& reports, std::error_code ec)
    {
        auto found = drain_errors();
        if (found.empty() && ec)
            found.emplace_back(portable(ec), endpoint{});
        reports.insert(reports.end(), found.begin(), found.end());
    }

    // Reports from the io_context, never from inside send or flush: engines
    // send while iterating their views, and a synchronous on_unreachable
    // would erase from the view being iterated.
    void post_reports(std::vector<error_report> reports)
    {
        if (reports.empty())
            return;
        asio::post(socket_.get_executor(), [state = state_, reports = std::move(reports)] {
            for (auto const& [e, peer] : reports)
                if (state->alive && state->on_error)
                    state->on_error(e, peer);
        });
    }

    // Reports what the error queue holds (or the bare error if it holds
    // nothing); called from the receive loop, outside any send.
    void report_errors(shared_state& s, std::error_code ec)
    {
        std::vector<error_report> reports;
        collect_reports(reports, ec);
        deliver_reports(s, reports);
    }

    // Reports what the error queue holds, if anything.
    void report_queued_errors(shared_state& s)
    {
        std::vector<error_report> reports;
        collect_reports(reports, {});
        deliver_reports(s, reports);
    }

    static void deliver_reports(shared_state& s, std::vector<error_report> const& reports)
    {
        for (auto const& [e, peer] : reports)
            if (s.alive && s.on_error)
                s.on_error(e, peer);
    }

    // Reads the socket's error queue: each entry names the destination an
    // ICMP error came back for. Empty without IP_RECVERR or off Linux.
    std::vector<error_report> drain_errors()
    {
        std::vector<error_report> reports;
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
            if (::recvmsg(fd_, &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
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
        if (a.ss_family == AF_INET6) { // an IPv4-mapped address is already meshkit's IPv4 form
            ::sockaddr_in6 in6;
            std::memcpy(&in6, &a, sizeof in6);
            std::memcpy(e.ip.data(), in6.sin6_addr.s6_addr, 16);
            e.port = ntohs(in6.sin6_port);
        }
        return e;
    }
#endif

    // The multicast group's socket and its one-datagram buffer, shared with its pending receive.
    struct group_receiver {
        group_receiver(asio::any_io_executor ex, std::size_t size) : socket(ex), buffer(size) {}
        asio::ip::udp::socket socket;
        std::vector<std::byte> buffer;
        asio::ip::udp::endpoint from;
    };

    static void receive_group(std::shared_ptr<shared_state> state, std::shared_ptr<group_receiver> g)
    {
        auto* raw = g.get();
        raw->socket.async_receive_from(
            asio::buffer(raw->buffer), raw->from,
            [state = std::move(state), g = std::move(g)](std::error_code ec, std::size_t n) mutable {
                if (!state->alive || ec == asio::error::operation_aborted)
                    return;
                if (!ec) {
                    if (n > state->slot) {
                        ++state->stats.truncated;
                    } else {
                        ++state->stats.datagrams_received;
                        if (state->on_receive)
                            state->on_receive(from_asio(g->from), std::span<std::byte const>(g->buffer.data(), n));
                    }
                }
                if (state->alive)
                    receive_group(std::move(state), std::move(g));
            });
    }

    /// An extra socket of birthday probing: opened towards `expected`, with `token`; `routed` once a probe hit it.
    struct birthday_socket {
        birthday_socket(asio::any_io_executor ex, std::size_t size) : socket(ex), buffer(size) {}
        asio::ip::udp::socket socket;
        std::vector<std::byte> buffer;
        asio::ip::udp::endpoint from;
        std::uint64_t token = 0;
        endpoint expected, routed;
        void const* batch = nullptr; // the timer that closes its batch
    };

    static void receive_birthday(std::shared_ptr<shared_state> state, std::shared_ptr<birthday_socket> b, transport* self)
    {
        auto* raw = b.get();
        raw->socket.async_receive_from(
            asio::buffer(raw->buffer), raw->from,
            [state = std::move(state), b = std::move(b), self](std::error_code ec, std::size_t n) mutable {
                if (!state->alive || ec == asio::error::operation_aborted || !b->socket.is_open())
                    return;
                if (!ec && n <= state->slot)
                    self->on_birthday_datagram(*state, *b, from_asio(b->from), std::span<std::byte const>(b->buffer.data(), n));
                if (state->alive && b->socket.is_open())
                    receive_birthday(std::move(state), std::move(b), self);
            });
    }

    void on_birthday_datagram(shared_state& s, birthday_socket& b, endpoint const& from, std::span<std::byte const> d)
    {
        if (auto const p = birthday_probe::parse(d)) {
            if (p->token != b.token || from.ip != b.expected.ip || !b.routed.is_unspecified())
                return;
            for (auto const& o : birthday_)
                if (o->routed == from)
                    return; // one socket per prober
            std::vector<std::shared_ptr<birthday_socket>> routed;
            for (auto const& o : birthday_)
                if (!o->routed.is_unspecified())
                    routed.push_back(o);
            if (routed.size() >= max_birthday_routes) {
                std::error_code ignored;
                routed.front()->socket.close(ignored);
                std::erase(birthday_, routed.front());
            }
            b.routed = from;
            ++s.stats.datagrams_received;
            if (s.on_birthday_hit)
                s.on_birthday_hit(from, p->token);
            return;
        }
        if (from == b.routed && s.on_receive) {
            ++s.stats.datagrams_received;
            s.on_receive(from, d);
        }
    }

    asio::ip::udp::socket socket_;
    std::shared_ptr<shared_state> state_;
    std::shared_ptr<group_receiver> group_;
    std::vector<std::shared_ptr<birthday_socket>> birthday_;
    transport_stats reported_{}; ///< what report_metrics() last reported
    asio::ip::udp::socket::native_handle_type fd_{};
    endpoint local_;
    std::size_t max_datagram_ = default_max_datagram;
};

} // namespace meshkit::udp

#endif // MESHKIT_UDP_TRANSPORT_HPP

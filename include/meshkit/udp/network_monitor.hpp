// udp/network_monitor.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_UDP_NETWORK_MONITOR_HPP
#define MESHKIT_UDP_NETWORK_MONITOR_HPP

#include <asio/io_context.hpp>
#include <asio/posix/stream_descriptor.hpp>

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <system_error>
#include <utility>

namespace meshkit::udp {

/// What changed in the machine's network.
enum class network_change_kind : std::uint8_t {
    link_up,
    link_down,
    address_added,
    address_removed,
    /// The kernel dropped notifications (the socket's buffer overflowed): something changed, what is unknown.
    overflow,
};

/// "link-up", "link-down", "address-added", "address-removed" or "overflow".
[[nodiscard]] constexpr char const* to_string(network_change_kind k) noexcept
{
    switch (k) {
    case network_change_kind::link_up: return "link-up";
    case network_change_kind::link_down: return "link-down";
    case network_change_kind::address_added: return "address-added";
    case network_change_kind::address_removed: return "address-removed";
    case network_change_kind::overflow: return "overflow";
    }
    return "unknown";
}

/// One change the kernel reported.
struct network_change {
    network_change_kind kind = network_change_kind::overflow;
    /// The interface's index (`if_nametoindex`); 0 for `overflow`.
    int interface_index = 0;
};

/// What a `network_monitor` counted.
struct network_monitor_stats {
    std::uint64_t datagrams = 0;
    std::uint64_t changes = 0;
    /// Datagrams not from the kernel, or whose messages did not parse: dropped.
    std::uint64_t refused = 0;
    std::uint64_t overflows = 0;
};

/** Reports the machine's network changes, read from a real rtnetlink socket: an I/O adapter beside the UDP transport.

    Subscribes to the kernel's link and address notifications
    (`RTMGRP_LINK`, `RTMGRP_IPV4_IFADDR`, `RTMGRP_IPV6_IFADDR`) on the
    network namespace the process runs in, and calls the handler for each
    change: a link going up or down (from its `IFF_UP` and `IFF_RUNNING`
    flags, reported when they change, not for every attribute update),
    an address added or removed, or an overflow when the kernel had to
    drop notifications. A node passes each to its topics
    (`topic_host::trigger(ctx, rejoin_trigger::network_change)`), whose
    supervisor deduplicates and throttles: a burst of notifications (an
    interface coming up adds an address or two) costs one rejoin.

    Only datagrams from the kernel (netlink port 0) are read; a message
    that does not parse is counted and dropped. The interfaces it tracks
    are bounded (`max_interfaces`).

    @throws std::system_error from the constructor when the socket cannot
    be opened (no netlink in a sandbox): the node runs on without it.
*/
class network_monitor {
public:
    using handler_type = std::function<void(network_change const&)>;
    static constexpr std::size_t max_interfaces = 1024;

    network_monitor(asio::io_context& io, handler_type handler)
        : descriptor_(io), handler_(std::move(handler)), alive_(std::make_shared<bool>(true))
    {
        int const fd = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
        if (fd < 0)
            throw std::system_error(errno, std::generic_category(), "meshkit: cannot open an rtnetlink socket");
        sockaddr_nl local{};
        local.nl_family = AF_NETLINK;
        local.nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR;
        if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
            int const e = errno;
            ::close(fd);
            throw std::system_error(e, std::generic_category(), "meshkit: cannot subscribe to rtnetlink");
        }
        descriptor_.assign(fd);
        wait();
    }

    ~network_monitor() { *alive_ = false; }
    network_monitor(network_monitor const&) = delete;
    network_monitor& operator=(network_monitor const&) = delete;

    [[nodiscard]] network_monitor_stats const& stats() const noexcept { return stats_; }

private:
    void wait()
    {
        descriptor_.async_wait(asio::posix::stream_descriptor::wait_read, [this, alive = alive_](std::error_code ec) {
            if (ec || !*alive)
                return;
            drain();
            if (*alive)
                wait();
        });
    }

    void drain()
    {
        auto const alive = alive_; // a handler may destroy the monitor: stop reading then
        while (*alive) {
            sockaddr_nl from{};
            iovec iov{buffer_.data(), buffer_.size()};
            msghdr msg{};
            msg.msg_name = &from;
            msg.msg_namelen = sizeof from;
            msg.msg_iov = &iov;
            msg.msg_iovlen = 1;
            ssize_t const n = ::recvmsg(descriptor_.native_handle(), &msg, MSG_DONTWAIT);
            if (n < 0) {
                if (errno == ENOBUFS) { // the kernel dropped notifications: say so, and read on
                    ++stats_.overflows;
                    report({network_change_kind::overflow, 0});
                    continue;
                }
                return; // EAGAIN: read everything; anything else: wait for the next readiness
            }
            ++stats_.datagrams;
            if (from.nl_pid != 0 || (msg.msg_flags & MSG_TRUNC)) {
                ++stats_.refused; // not the kernel's, or cut short
                continue;
            }
            parse(static_cast<std::size_t>(n));
        }
    }

    // Walks the datagram's messages by hand (the NLMSG_* macros cast old-style), copying each header out.
    void parse(std::size_t size)
    {
        static constexpr std::size_t header = (sizeof(nlmsghdr) + 3) & ~std::size_t{3};
        std::size_t at = 0;
        while (size - at >= sizeof(nlmsghdr)) {
            nlmsghdr h{};
            std::memcpy(&h, buffer_.data() + at, sizeof h);
            if (h.nlmsg_len < sizeof h || h.nlmsg_len > size - at) {
                ++stats_.refused;
                return;
            }
            std::byte const* body = buffer_.data() + at + header;
            std::size_t const body_size = h.nlmsg_len > header ? h.nlmsg_len - header : 0;
            if (h.nlmsg_type == RTM_NEWLINK || h.nlmsg_type == RTM_DELLINK) {
                ifinfomsg info{};
                if (body_size < sizeof info) {
                    ++stats_.refused;
                    return;
                }
                std::memcpy(&info, body, sizeof info);
                link_changed(info, h.nlmsg_type == RTM_NEWLINK);
            } else if (h.nlmsg_type == RTM_NEWADDR || h.nlmsg_type == RTM_DELADDR) {
                ifaddrmsg addr{};
                if (body_size < sizeof addr) {
                    ++stats_.refused;
                    return;
                }
                std::memcpy(&addr, body, sizeof addr);
                report({h.nlmsg_type == RTM_NEWADDR ? network_change_kind::address_added
                                                     : network_change_kind::address_removed,
                        static_cast<int>(addr.ifa_index)});
            } // NLMSG_DONE, NLMSG_NOOP and kinds not subscribed to: nothing
            at += (std::size_t{h.nlmsg_len} + 3) & ~std::size_t{3};
            if (at > size)
                return;
        }
    }

    // A link's notification: reported when its state (up and running, or not) changed, not for every attribute.
    void link_changed(ifinfomsg const& info, bool exists)
    {
        bool const up = exists && (info.ifi_flags & IFF_UP) && (info.ifi_flags & IFF_RUNNING);
        auto known = links_.find(info.ifi_index);
        if (known != links_.end() && known->second == up && exists)
            return;
        if (!exists)
            links_.erase(info.ifi_index);
        else if (known != links_.end() || links_.size() < max_interfaces)
            links_[info.ifi_index] = up;
        report({up ? network_change_kind::link_up : network_change_kind::link_down, info.ifi_index});
    }

    void report(network_change const& c)
    {
        ++stats_.changes;
        if (handler_)
            handler_(c);
    }

    asio::posix::stream_descriptor descriptor_;
    handler_type handler_;
    std::shared_ptr<bool> alive_;
    alignas(nlmsghdr) std::array<std::byte, 16 * 1024> buffer_{};
    std::map<int, bool> links_; // interface index -> up, as last reported
    network_monitor_stats stats_;
};

} // namespace meshkit::udp

#endif // MESHKIT_UDP_NETWORK_MONITOR_HPP

// sim/transport.hpp
// ~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_SIM_TRANSPORT_HPP
#define MESHKIT_SIM_TRANSPORT_HPP

#include <meshkit/birthday_probe.hpp>
#include <meshkit/concepts/transport.hpp>
#include <meshkit/endpoint.hpp>
#include <meshkit/sim/network.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <stdexcept>
#include <system_error>
#include <vector>

namespace meshkit::sim {

/** A host on a `sim::network`; models `meshkit::transport`.

    Construction binds an address (a fresh one unless given) and destruction
    releases it, like opening and closing a UDP socket.

    @par Thread safety
    As `sim::network`: one thread per network.
*/
class transport {
public:
    /** Binds at `at`, or at `net.next_endpoint()` when `at` is unspecified.

        @throws std::system_error with `errc::address_in_use` when a bound
        host owns `at`: a configuration error, reported where it is made.
    */
    explicit transport(network& net, endpoint const& at = {}) : net_(&net)
    {
        auto h = net.bind(at.is_unspecified() ? net.next_endpoint() : at,
                          [this](endpoint const& from, std::span<std::byte const> d) {
                              if (birthday_probe::parse(d)) {
                                  ++birthday_ignored_; // a probe meant for an extra socket, or a stray one
                                  return;
                              }
                              if (handler_)
                                  handler_(from, d);
                          });
        if (!h)
            throw std::system_error(h.error(), "meshkit::sim::transport: cannot bind " + at.to_string());
        host_ = *h;
    }

    transport(transport const&) = delete;
    transport& operator=(transport const&) = delete;

    ~transport()
    {
        for (auto const& s : extra_)
            net_->unbind(s->host);
        net_->unbind(host_);
    }

    /// The address peers reach this host at (it changes on `network::rebind`).
    [[nodiscard]] endpoint local_endpoint() const { return net_->address_of(host_); }

    /// Sends one datagram; see `meshkit::transport`.
    std::error_code send(endpoint const& to, std::span<std::byte const> bytes)
    {
        for (auto const& s : extra_)
            if (s->routed == to)
                return net_->send(s->host, to, bytes); // the socket whose mapping `to` reached
        return net_->send(host_, to, bytes);
    }

    // -- birthday probing (birthday_probe.hpp) ------------------------------------

    /** Opens up to `count` extra sockets on this host, each sending one birthday probe with `token` to `to`.

        Each socket's NAT mapping then admits `to`. A probe with `token`
        from `to`'s address that reaches one of them is a hit: the handler
        of `on_birthday_hit` hears it, and from then on `send` to the
        prober goes through that socket. Sockets without a hit close after
        `birthday_socket_lifetime`; at most `max_birthday_sockets` are open
        (the oldest without a hit closes first), and at most
        `max_birthday_routes` carry a hit's traffic.
        @return how many were opened.
    */
    std::size_t open_birthday_sockets(endpoint const& to, std::uint64_t token, std::size_t count)
    {
        expire_birthday_sockets();
        auto const probe = birthday_probe{token}.encode();
        endpoint const local = net_->address_of(host_);
        std::size_t opened = 0;
        for (std::size_t tries = 0; opened < count && tries < 4 * count; ++tries) {
            if (extra_.size() >= max_birthday_sockets && !close_oldest_unrouted())
                break;
            endpoint at = local;
            at.port = static_cast<std::uint16_t>(first_extra_port + next_extra_port_++ % extra_port_span);
            auto s = std::make_unique<extra_socket>();
            extra_socket* raw = s.get();
            auto h = net_->bind(at, [this, raw](endpoint const& from, std::span<std::byte const> d) {
                on_extra(*raw, from, d);
            });
            if (!h)
                continue; // taken: the next port
            s->host = *h;
            s->token = token;
            s->expected = to;
            s->opened = net_->now();
            extra_.push_back(std::move(s));
            (void)net_->send(*h, to, probe);
            ++opened;
        }
        return opened;
    }

    /// Sends one birthday probe with `token` to `to` from this host's own socket.
    std::error_code send_birthday_probe(endpoint const& to, std::uint64_t token)
    {
        auto const probe = birthday_probe{token}.encode();
        return net_->send(host_, to, probe);
    }

    /// Installs what runs on a birthday hit (see `open_birthday_sockets`).
    void on_birthday_hit(birthday_hit_handler h) { hit_ = std::move(h); }

    /// Extra sockets open now, and birthday probes the own socket dropped.
    [[nodiscard]] std::size_t birthday_sockets() const noexcept { return extra_.size(); }
    [[nodiscard]] std::uint64_t birthday_probes_ignored() const noexcept { return birthday_ignored_; }

    static constexpr std::size_t max_birthday_sockets = 1024;
    static constexpr std::size_t max_birthday_routes = 32;
    static constexpr duration birthday_socket_lifetime = std::chrono::seconds(30);

    /// Installs the handler for arriving datagrams.
    void on_receive(receive_handler h) { handler_ = std::move(h); }

    /// Installs what runs when the network restarts this host after a crash.
    void on_restart(std::function<void()> fn) { net_->on_restart(host_, std::move(fn)); }

    /// The simulator is deterministic: nodes on it derive their randomness from their seed.
    static constexpr bool deterministic = true;

    /// The simulator's datagrams model UDP, so its addresses are UDP addresses like a real node's.
    static constexpr transport_protocol protocol = transport_protocol::udp;

    /// The network's datagram limit.
    [[nodiscard]] std::size_t max_datagram_size() const noexcept { return net_->max_datagram_size(); }

    /// The network this host is on.
    [[nodiscard]] network& net() const noexcept { return *net_; }

    /// This host's index in its network.
    [[nodiscard]] host_id host() const noexcept { return host_; }

private:
    static constexpr std::uint32_t first_extra_port = 20000, extra_port_span = 40000;

    struct extra_socket {
        host_id host = 0;
        std::uint64_t token = 0;
        endpoint expected; // whose probe is a hit
        endpoint routed;   // the prober a hit proved, once one did
        time_point opened{};
    };

    void on_extra(extra_socket& s, endpoint const& from, std::span<std::byte const> d)
    {
        if (auto const p = birthday_probe::parse(d)) {
            if (p->token != s.token || from.ip != s.expected.ip || !s.routed.is_unspecified())
                return;
            // At most one socket per prober, and a bounded number in all.
            for (auto const& o : extra_)
                if (o->routed == from)
                    return;
            if (std::count_if(extra_.begin(), extra_.end(), [](auto const& o) { return !o->routed.is_unspecified(); }) >=
                static_cast<std::ptrdiff_t>(max_birthday_routes))
                return;
            s.routed = from;
            if (hit_)
                hit_(from, p->token);
            return;
        }
        if (from == s.routed && handler_)
            handler_(from, d);
    }

    bool close_oldest_unrouted()
    {
        for (auto it = extra_.begin(); it != extra_.end(); ++it)
            if ((*it)->routed.is_unspecified()) {
                net_->unbind((*it)->host);
                extra_.erase(it);
                return true;
            }
        return false;
    }

    void expire_birthday_sockets()
    {
        time_point const now = net_->now();
        std::erase_if(extra_, [&](auto const& s) {
            if (!s->routed.is_unspecified() || now - s->opened < birthday_socket_lifetime)
                return false;
            net_->unbind(s->host);
            return true;
        });
    }

    network* net_;
    host_id host_ = 0;
    receive_handler handler_;
    birthday_hit_handler hit_;
    std::vector<std::unique_ptr<extra_socket>> extra_;
    std::uint32_t next_extra_port_ = 0;
    std::uint64_t birthday_ignored_ = 0;
};

} // namespace meshkit::sim

#endif // MESHKIT_SIM_TRANSPORT_HPP

// sim/transport.hpp
// ~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_SIM_TRANSPORT_HPP
#define MESHKIT_SIM_TRANSPORT_HPP

#include <meshkit/concepts/transport.hpp>
#include <meshkit/endpoint.hpp>
#include <meshkit/sim/network.hpp>

#include <cstddef>
#include <functional>
#include <span>
#include <stdexcept>
#include <system_error>

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
                              if (handler_)
                                  handler_(from, d);
                          });
        if (!h)
            throw std::system_error(h.error(), "meshkit::sim::transport: cannot bind " + at.to_string());
        host_ = *h;
    }

    transport(transport const&) = delete;
    transport& operator=(transport const&) = delete;

    ~transport() { net_->unbind(host_); }

    /// The address peers reach this host at (it changes on `network::rebind`).
    [[nodiscard]] endpoint local_endpoint() const { return net_->address_of(host_); }

    /// Sends one datagram; see `meshkit::transport`.
    std::error_code send(endpoint const& to, std::span<std::byte const> bytes)
    {
        return net_->send(host_, to, bytes);
    }

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
    network* net_;
    host_id host_ = 0;
    receive_handler handler_;
};

} // namespace meshkit::sim

#endif // MESHKIT_SIM_TRANSPORT_HPP

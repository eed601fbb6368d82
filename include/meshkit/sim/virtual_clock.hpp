// sim/virtual_clock.hpp
// ~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_SIM_VIRTUAL_CLOCK_HPP
#define MESHKIT_SIM_VIRTUAL_CLOCK_HPP

#include <meshkit/concepts/clock.hpp>
#include <meshkit/sim/network.hpp>
#include <meshkit/sim/transport.hpp>
#include <meshkit/time.hpp>

namespace meshkit::sim {

/** A view of a `sim::network`'s clock; models `meshkit::clock`.

    Time belongs to the network, so a run is one consistent sequence of
    events. A clock built with a transport belongs to that host: its
    timers die when the host crashes, and it reads the host's own clock,
    which `network::set_clock_skew` can offset and make drift, as two real
    machines' monotonic clocks are.
*/
class virtual_clock {
public:
    /// A clock owned by no host; its timers survive every crash.
    explicit virtual_clock(network& net) noexcept : net_(&net), owner_(network::no_host) {}

    /// A clock owned by `host`'s host.
    virtual_clock(network& net, transport const& host) noexcept : net_(&net), owner_(host.host()) {}

    [[nodiscard]] time_point now() const noexcept
    {
        return owner_ == network::no_host ? net_->now() : net_->host_now(owner_);
    }

    timer_handle set_timer(time_point at, timer_callback cb)
    {
        return net_->set_timer(owner_, owner_ == network::no_host ? at : net_->network_time(owner_, at), std::move(cb));
    }

    void cancel(timer_handle h) noexcept { net_->cancel_timer(h); }

private:
    network* net_;
    host_id owner_;
};

} // namespace meshkit::sim

#endif // MESHKIT_SIM_VIRTUAL_CLOCK_HPP

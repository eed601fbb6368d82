// udp/sleep_monitor.hpp
// ~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_UDP_SLEEP_MONITOR_HPP
#define MESHKIT_UDP_SLEEP_MONITOR_HPP

#include <meshkit/time.hpp>
#include <meshkit/udp/sleep_detector.hpp>

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include <time.h>

#include <chrono>
#include <functional>
#include <memory>
#include <utility>

namespace meshkit::udp {

/** Reports wakes from sleep: reads `CLOCK_MONOTONIC` and `CLOCK_BOOTTIME` every `interval` into a `sleep_detector`.

    An I/O adapter beside the UDP transport, as `network_monitor` is. A
    node passes each wake to its topics
    (`topic_host::trigger(ctx, rejoin_trigger::wake)`): after a sleep its
    neighbours have long dropped it, and waiting for its probes to find
    out costs seconds per neighbour.
*/
class sleep_monitor {
public:
    using handler_type = std::function<void(duration slept)>;

    sleep_monitor(asio::io_context& io, handler_type handler, duration interval = std::chrono::seconds(1),
                  duration threshold = std::chrono::seconds(2))
        : timer_(io), handler_(std::move(handler)), interval_(interval), detector_(threshold),
          alive_(std::make_shared<bool>(true))
    {
        (void)detector_.sample(read(CLOCK_MONOTONIC), read(CLOCK_BOOTTIME));
        arm();
    }

    ~sleep_monitor() { *alive_ = false; }
    sleep_monitor(sleep_monitor const&) = delete;
    sleep_monitor& operator=(sleep_monitor const&) = delete;

private:
    static duration read(clockid_t id)
    {
        timespec ts{};
        ::clock_gettime(id, &ts);
        return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
    }

    void arm()
    {
        timer_.expires_after(interval_);
        timer_.async_wait([this, alive = alive_](std::error_code ec) {
            if (ec || !*alive)
                return;
            if (auto slept = detector_.sample(read(CLOCK_MONOTONIC), read(CLOCK_BOOTTIME)); slept && handler_)
                handler_(*slept);
            if (*alive)
                arm();
        });
    }

    asio::steady_timer timer_;
    handler_type handler_;
    duration interval_;
    sleep_detector detector_;
    std::shared_ptr<bool> alive_;
};

} // namespace meshkit::udp

#endif // MESHKIT_UDP_SLEEP_MONITOR_HPP

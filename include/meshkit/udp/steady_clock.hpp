// udp/steady_clock.hpp
// ~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_UDP_STEADY_CLOCK_HPP
#define MESHKIT_UDP_STEADY_CLOCK_HPP

#include <meshkit/concepts/clock.hpp>
#include <meshkit/time.hpp>

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <unordered_map>

namespace meshkit::udp {

/** Real time on an `asio::io_context`; models `meshkit::clock`.

    `now()` is `std::chrono::steady_clock` (monotonic, unaffected by wall
    clock changes). Timer callbacks run on the io_context's thread, the same
    one that delivers datagrams, so engines never see two events at once.
    Destroying the clock cancels its timers: none fires afterwards.
*/
class steady_clock {
public:
    explicit steady_clock(asio::io_context& io) : io_(&io), state_(std::make_shared<timers>()) {}

    steady_clock(steady_clock const&) = delete;
    steady_clock& operator=(steady_clock const&) = delete;

    ~steady_clock()
    {
        state_->alive = false;
        for (auto& [id, t] : state_->pending)
            t->cancel();
        state_->pending.clear();
    }

    [[nodiscard]] time_point now() const noexcept
    {
        return time_point(std::chrono::duration_cast<duration>(std::chrono::steady_clock::now().time_since_epoch()));
    }

    timer_handle set_timer(time_point at, timer_callback cb)
    {
        auto const id = ++state_->next_id;
        auto timer = std::make_shared<asio::steady_timer>(*io_);
        timer->expires_at(std::chrono::steady_clock::time_point(
            std::chrono::duration_cast<std::chrono::steady_clock::duration>(at.time_since_epoch())));
        state_->pending.emplace(id, timer);
        timer->async_wait([state = state_, id, cb = std::move(cb)](std::error_code) {
            // The map, not the error code, decides: a timer cancelled after it
            // expired but before its completion ran still completes with success.
            if (!state->alive || state->pending.erase(id) == 0)
                return;
            cb();
        });
        return timer_handle{id};
    }

    void cancel(timer_handle h)
    {
        if (auto it = state_->pending.find(h.value); it != state_->pending.end()) {
            it->second->cancel();
            state_->pending.erase(it);
        }
    }

private:
    struct timers {
        bool alive = true;
        std::uint64_t next_id = 0;
        std::unordered_map<std::uint64_t, std::shared_ptr<asio::steady_timer>> pending;
    };

    asio::io_context* io_;
    std::shared_ptr<timers> state_;
};

} // namespace meshkit::udp

#endif // MESHKIT_UDP_STEADY_CLOCK_HPP

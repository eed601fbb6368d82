// detail/event_queue.hpp
// ~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_DETAIL_EVENT_QUEUE_HPP
#define MESHKIT_DETAIL_EVENT_QUEUE_HPP

#include <cstddef>
#include <deque>
#include <type_traits>
#include <utility>

namespace meshkit::detail {

/** The events engines raise inside hooks, delivered in order when the outermost hook returns.

    `basic_node` runs every call into an engine (a datagram, a frame, a
    timer, `join`, `broadcast`) through `run`. What the engine raises is
    queued, not delivered, so no handler ever runs inside another engine's
    loop (the connector iterating its candidates while a handler calls
    `join`). Delivering runs more hooks, whose events join the end of the
    same queue: the order delivered is the order raised. The queue drains
    completely on every outermost return, so it holds at most what one
    hook and the deliveries it causes raise.
*/
template <class Event>
class event_queue {
public:
    /// Queues `e` (an alternative of `Event`).
    template <class E>
    void push(E const& e)
    {
        queue_.emplace_back(std::in_place_type<E>, e);
    }

    /** Runs `hook` as a hook, then, if it was the outermost one, calls `deliver(event)` for each queued event.

        @return what `hook` returns.
    */
    template <class Hook, class Deliver>
    std::invoke_result_t<Hook&> run(Hook&& hook, Deliver&& deliver)
    {
        using result_type = std::invoke_result_t<Hook&>;
        if constexpr (std::is_void_v<result_type>) {
            {
                depth_guard const g{depth_};
                hook();
            }
            drain(deliver);
        } else {
            result_type r = [&]() -> result_type {
                depth_guard const g{depth_};
                return hook();
            }();
            drain(deliver);
            return static_cast<result_type>(r);
        }
    }

    [[nodiscard]] bool empty() const noexcept { return queue_.empty(); }

private:
    struct depth_guard {
        std::size_t& depth;
        explicit depth_guard(std::size_t& d) noexcept : depth(d) { ++depth; }
        ~depth_guard() { --depth; }
    };

    template <class Deliver>
    void drain(Deliver& deliver)
    {
        if (depth_ != 0 || delivering_)
            return; // the outer loop delivers them
        delivering_ = true;
        struct reset {
            bool& flag;
            ~reset() { flag = false; }
        } const done{delivering_};
        while (!queue_.empty()) {
            Event e = std::move(queue_.front());
            queue_.pop_front();
            deliver(e);
        }
    }

    std::deque<Event> queue_;
    std::size_t depth_ = 0;
    bool delivering_ = false;
};

} // namespace meshkit::detail

#endif // MESHKIT_DETAIL_EVENT_QUEUE_HPP

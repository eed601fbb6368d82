// broadcast/dedup_cache.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_BROADCAST_DEDUP_CACHE_HPP
#define MESHKIT_BROADCAST_DEDUP_CACHE_HPP

#include <meshkit/broadcast/message_key.hpp>
#include <meshkit/time.hpp>

#include <cstddef>
#include <deque>
#include <set>
#include <utility>

namespace meshkit::broadcast {

/** Remembers which broadcasts were seen, for a while and up to a count.

    An entry leaves after `retention`, or earlier when `capacity` entries
    are newer (oldest first). A message that comes back after leaving is
    delivered again, so retention must outlast the time a broadcast stays in
    flight; capacity bounds memory whatever the traffic.
*/
class dedup_cache {
public:
    dedup_cache(std::size_t capacity, duration retention) : capacity_(capacity), retention_(retention) {}

    /// Records `key`; true if it was not already present.
    bool insert(message_key const& key, time_point now)
    {
        expire(now);
        if (!keys_.insert(key).second)
            return false;
        order_.emplace_back(now, key);
        if (order_.size() > capacity_) {
            keys_.erase(order_.front().second);
            order_.pop_front();
        }
        return true;
    }

    [[nodiscard]] bool contains(message_key const& key) const { return keys_.contains(key); }

    /// Forgets entries older than the retention.
    void expire(time_point now)
    {
        while (!order_.empty() && now - order_.front().first > retention_) {
            keys_.erase(order_.front().second);
            order_.pop_front();
        }
    }

    [[nodiscard]] std::size_t size() const noexcept { return keys_.size(); }

private:
    std::size_t capacity_;
    duration retention_;
    std::set<message_key> keys_;
    std::deque<std::pair<time_point, message_key>> order_;
};

} // namespace meshkit::broadcast

#endif // MESHKIT_BROADCAST_DEDUP_CACHE_HPP

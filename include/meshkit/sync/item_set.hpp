// sync/item_set.hpp
// ~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_SYNC_ITEM_SET_HPP
#define MESHKIT_SYNC_ITEM_SET_HPP

#include <meshkit/sync/bound.hpp>
#include <meshkit/sync/fingerprint.hpp>
#include <meshkit/sync/id_sum.hpp>
#include <meshkit/sync/item.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <stdexcept>
#include <unordered_map>
#include <vector>

namespace meshkit::sync {

/// What `item_set::insert` did.
struct insert_result {
    /// False if the id was held already, or the set is full of newer items.
    bool inserted = false;
    /// The oldest item, dropped to make room.
    std::optional<item> evicted;
};

/** A bounded, sorted set of items with O(1) range fingerprints: what a reconciler reads.

    Items are kept sorted by `(order, id)` beside their prefix sums, so a
    range's fingerprint is one subtraction and one hash, and locating a
    bound is a binary search. A set at `capacity` keeps its newest items:
    inserting evicts the oldest, and an item older than all of a full set
    is refused. New items usually carry the highest orders, so inserting
    at or near the end costs O(1) amortised; inserting `k` places from the
    end costs O(k). Evicting the oldest is O(1): prefix sums are only ever
    subtracted from one another, so the ones left stay valid.

    Each id is held once (a second item with a held id is refused,
    whatever its order).
*/
class item_set {
public:
    /// The default bound: 100,000 items, about 10 MB with the index.
    static constexpr std::size_t default_capacity = 100'000;

    explicit item_set(std::size_t capacity = default_capacity)
        : capacity_(capacity)
    {
        if (capacity_ == 0)
            throw std::invalid_argument("meshkit: sync::item_set needs a capacity of at least 1");
        prefix_.emplace_back();
    }

    [[nodiscard]] std::size_t size() const noexcept { return items_.size(); }
    [[nodiscard]] bool empty() const noexcept { return items_.empty(); }
    [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
    [[nodiscard]] item const& operator[](std::size_t i) const { return items_[i]; }
    [[nodiscard]] bool contains(item_id const& id) const { return index_.contains(id); }

    /// The order of the held item named `id`, if any.
    [[nodiscard]] std::optional<std::uint64_t> order_of(item_id const& id) const
    {
        auto it = index_.find(id);
        if (it == index_.end())
            return std::nullopt;
        return it->second;
    }

    /** The lowest order this set still takes: 0 until it is full, then its oldest item's.

        Nothing older would be kept, so nothing older is worth asking a
        peer for: a reconciliation's scope starts at the higher horizon of
        its two sides.
    */
    [[nodiscard]] std::uint64_t horizon() const noexcept { return full() ? items_.front().order : 0; }

    /// True once the set holds `capacity` items and has started evicting.
    [[nodiscard]] bool full() const noexcept { return items_.size() >= capacity_; }

    /** Adds `it`, evicting the oldest item if the set is full.

        Refused (nothing changes) if the id is held, if `it.order` exceeds
        `max_order`, or if the set is full and `it` is older than its oldest.
    */
    insert_result insert(item const& it)
    {
        insert_result r;
        if (it.order > max_order || index_.contains(it.id))
            return r;
        if (full() && it < items_.front())
            return r;
        if (full()) {
            r.evicted = items_.front();
            erase_front();
        }
        auto const pos = static_cast<std::size_t>(std::upper_bound(items_.begin(), items_.end(), it) - items_.begin());
        items_.insert(items_.begin() + static_cast<std::ptrdiff_t>(pos), it);
        id_sum running = prefix_[pos];
        running += it.id;
        prefix_.insert(prefix_.begin() + static_cast<std::ptrdiff_t>(pos + 1), running);
        for (std::size_t k = pos + 2; k < prefix_.size(); ++k)
            prefix_[k] += it.id;
        index_.emplace(it.id, it.order);
        r.inserted = true;
        return r;
    }

    /** Replaces the contents with `items` (any order; repeated ids keep their first): building a set in one pass.

        Keeps the newest `capacity` items.
    */
    void assign(std::vector<item> items)
    {
        clear();
        std::vector<item> kept;
        kept.reserve(items.size());
        index_.reserve(std::min(items.size(), capacity_));
        for (auto const& it : items)
            if (it.order <= max_order && index_.emplace(it.id, it.order).second)
                kept.push_back(it);
        std::sort(kept.begin(), kept.end());
        std::size_t const drop = kept.size() > capacity_ ? kept.size() - capacity_ : 0;
        for (std::size_t i = 0; i < drop; ++i)
            index_.erase(kept[i].id);
        items_.assign(kept.begin() + static_cast<std::ptrdiff_t>(drop), kept.end());
        id_sum running;
        for (auto const& it : items_) {
            running += it.id;
            prefix_.push_back(running);
        }
    }

    /// Removes every item.
    void clear()
    {
        items_.clear();
        prefix_.clear();
        prefix_.emplace_back();
        index_.clear();
    }

    /// Drops the oldest item, if any.
    void erase_front()
    {
        if (items_.empty())
            return;
        index_.erase(items_.front().id);
        items_.pop_front();
        prefix_.pop_front();
    }

    /// The index of the first item not before `b` (`size()` if none).
    [[nodiscard]] std::size_t lower_bound(bound const& b) const
    {
        auto it = std::partition_point(items_.begin(), items_.end(), [&](item const& x) { return before(x, b); });
        return static_cast<std::size_t>(it - items_.begin());
    }

    /// The sum of the ids of items `[begin, end)`.
    [[nodiscard]] id_sum sum(std::size_t begin, std::size_t end) const { return prefix_[end] - prefix_[begin]; }

    /// The fingerprint of items `[begin, end)`.
    [[nodiscard]] sync::fingerprint fingerprint(std::size_t begin, std::size_t end) const
    {
        return fingerprint_of(sum(begin, end), end - begin);
    }

private:
    std::size_t capacity_;
    std::deque<item> items_;
    // prefix_[k] is the sum of the ids of items_[0, k); one more entry than items_.
    std::deque<id_sum> prefix_;
    std::unordered_map<item_id, std::uint64_t, item_id_hash> index_;
};

} // namespace meshkit::sync

#endif // MESHKIT_SYNC_ITEM_SET_HPP

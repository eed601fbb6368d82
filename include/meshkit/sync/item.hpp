// sync/item.hpp
// ~~~~~~~~~~~~~
#ifndef MESHKIT_SYNC_ITEM_HPP
#define MESHKIT_SYNC_ITEM_HPP

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>

namespace meshkit::sync {

/** 32 bytes that name one item: a hash of its content, or anything else both sides derive the same way.

    The fingerprints sum ids, so ids must be uniformly spread (a hash is);
    an attacker who may choose ids freely could make two different sets sum
    alike. Within a topic of authenticated peers, ids are BLAKE2b digests.
*/
using item_id = std::array<std::uint8_t, 32>;

/** One element of a reconciled set: where it sorts, and what it is.

    Items sort by `order`, then by `id`. `order` is whatever both sides
    agree on for the same item: for a topic's broadcast log it is the
    broadcast's version (a Lamport counter the origin stamps), never a
    clock reading, which would mean nothing on another host. Recent items
    have high orders, so a reconciliation can be limited to "everything
    from order F on" (the floor), and two logs that evict their oldest
    items agree on what is out of scope.

    `order` is below `max_order`: the largest value names "past every item"
    in range bounds.
*/
struct item {
    std::uint64_t order = 0;
    item_id id{};

    friend constexpr auto operator<=>(item const&, item const&) = default;
};

/// The largest order an item may have; `std::uint64_t`'s maximum is the open upper end of every scope.
inline constexpr std::uint64_t max_order = std::numeric_limits<std::uint64_t>::max() - 1;

/// Hashes an id by its first eight bytes: ids are digests, already uniform.
struct item_id_hash {
    std::size_t operator()(item_id const& id) const noexcept
    {
        std::uint64_t h = 0;
        std::memcpy(&h, id.data(), sizeof h);
        return static_cast<std::size_t>(h);
    }
};

} // namespace meshkit::sync

#endif // MESHKIT_SYNC_ITEM_HPP

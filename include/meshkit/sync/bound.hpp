// sync/bound.hpp
// ~~~~~~~~~~~~~~
#ifndef MESHKIT_SYNC_BOUND_HPP
#define MESHKIT_SYNC_BOUND_HPP

#include <meshkit/sync/item.hpp>

#include <algorithm>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

namespace meshkit::sync {

/** Where one range of a reconciliation ends (exclusive) and the next begins.

    A bound sorts among items as the item `(order, id_prefix padded with
    zero bytes to 32)`. Between two neighbouring items a bound needs only
    as many id bytes as it takes to tell them apart, usually none (their
    orders differ) or one or two, so a range costs about ten bytes on the
    wire rather than forty. `order == std::uint64_t` max is past every
    item: the open end of a scope.
*/
struct bound {
    std::uint64_t order = 0;
    /// At most 32 bytes; shorter is padded with zeros.
    std::vector<std::uint8_t> id_prefix;

    /// The bound past every item.
    [[nodiscard]] static bound infinite() { return bound{std::numeric_limits<std::uint64_t>::max(), {}}; }

    /// The bound just before every item of order `order` (a scope's floor).
    [[nodiscard]] static bound at(std::uint64_t order) { return bound{order, {}}; }

    [[nodiscard]] bool is_infinite() const noexcept { return order == std::numeric_limits<std::uint64_t>::max(); }
};

/// Orders an id against a zero-padded prefix, byte by byte.
inline std::strong_ordering compare_id(item_id const& id, std::vector<std::uint8_t> const& prefix) noexcept
{
    for (std::size_t i = 0; i < id.size(); ++i) {
        std::uint8_t const p = i < prefix.size() ? prefix[i] : 0;
        if (id[i] != p)
            return id[i] <=> p;
    }
    return std::strong_ordering::equal;
}

/// True if `it` sorts before `b`: it falls in a range that ends at `b`.
inline bool before(item const& it, bound const& b) noexcept
{
    if (it.order != b.order)
        return it.order < b.order;
    return compare_id(it.id, b.id_prefix) < 0;
}

/// Orders two bounds as the padded items they stand for.
inline std::strong_ordering compare(bound const& a, bound const& b) noexcept
{
    if (a.order != b.order)
        return a.order <=> b.order;
    std::size_t const n = std::max(a.id_prefix.size(), b.id_prefix.size());
    for (std::size_t i = 0; i < n; ++i) {
        std::uint8_t const x = i < a.id_prefix.size() ? a.id_prefix[i] : 0;
        std::uint8_t const y = i < b.id_prefix.size() ? b.id_prefix[i] : 0;
        if (x != y)
            return x <=> y;
    }
    return std::strong_ordering::equal;
}

/** The shortest bound `b` with `below < b <= above`: where a range holding `below` may end so the next holds `above`.

    Requires `below < above`.
*/
inline bound separating_bound(item const& below, item const& above)
{
    if (below.order != above.order)
        return bound::at(above.order);
    std::size_t shared = 0;
    while (shared < above.id.size() && below.id[shared] == above.id[shared])
        ++shared;
    // The first differing byte decides; equal ids cannot be (the items differ), but stay in bounds anyway.
    std::size_t const length = std::min(shared + 1, above.id.size());
    return bound{above.order, std::vector<std::uint8_t>(above.id.begin(), above.id.begin() + static_cast<std::ptrdiff_t>(length))};
}

} // namespace meshkit::sync

#endif // MESHKIT_SYNC_BOUND_HPP

// sync/id_sum.hpp
// ~~~~~~~~~~~~~~~
#ifndef MESHKIT_SYNC_ID_SUM_HPP
#define MESHKIT_SYNC_ID_SUM_HPP

#include <meshkit/sync/item.hpp>

#include <array>
#include <cstdint>
#include <cstring>

namespace meshkit::sync {

/** The sum of a set of ids, each read as a little-endian 256-bit number, modulo 2^256.

    Addition is what makes range fingerprints cheap: the sum over any run
    of a sorted set is the difference of two prefix sums (`item_set`),
    so no range is ever walked, and adding or removing an item is one
    addition or subtraction. The sum is hashed before it leaves the node
    (`fingerprint`), so it is never compared raw.
*/
class id_sum {
public:
    id_sum& operator+=(item_id const& id) noexcept { return add(limbs_of(id), false); }
    id_sum& operator-=(item_id const& id) noexcept { return add(limbs_of(id), true); }
    id_sum& operator+=(id_sum const& other) noexcept { return add(other.limbs_, false); }
    id_sum& operator-=(id_sum const& other) noexcept { return add(other.limbs_, true); }

    friend id_sum operator-(id_sum a, id_sum const& b) noexcept { return a -= b; }
    friend bool operator==(id_sum const&, id_sum const&) = default;

    /// The sum as 32 little-endian bytes.
    [[nodiscard]] std::array<std::uint8_t, 32> bytes() const noexcept
    {
        std::array<std::uint8_t, 32> out{};
        for (std::size_t l = 0; l < 4; ++l)
            for (std::size_t b = 0; b < 8; ++b)
                out[l * 8 + b] = static_cast<std::uint8_t>(limbs_[l] >> (8 * b));
        return out;
    }

private:
    using limbs = std::array<std::uint64_t, 4>;

    static limbs limbs_of(item_id const& id) noexcept
    {
        limbs out{};
        for (std::size_t l = 0; l < 4; ++l)
            for (std::size_t b = 0; b < 8; ++b)
                out[l] |= static_cast<std::uint64_t>(id[l * 8 + b]) << (8 * b);
        return out;
    }

    // Subtraction adds the two's complement: invert, then carry in one.
    id_sum& add(limbs const& v, bool negate) noexcept
    {
        std::uint64_t carry = negate ? 1 : 0;
        for (std::size_t l = 0; l < 4; ++l) {
            std::uint64_t const x = negate ? ~v[l] : v[l];
            std::uint64_t const s = limbs_[l] + x;
            std::uint64_t const c1 = s < limbs_[l] ? 1 : 0;
            limbs_[l] = s + carry;
            std::uint64_t const c2 = limbs_[l] < s ? 1 : 0;
            carry = c1 | c2;
        }
        return *this;
    }

    limbs limbs_{};
};

} // namespace meshkit::sync

#endif // MESHKIT_SYNC_ID_SUM_HPP

// security/replay_window.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_SECURITY_REPLAY_WINDOW_HPP
#define MESHKIT_SECURITY_REPLAY_WINDOW_HPP

#include <array>
#include <cstddef>
#include <cstdint>

namespace meshkit::security {

/** Which counters of a session have been received: a sliding window over the last `size` counters.

    Datagrams arrive out of order, twice or never, so an encrypted datagram
    carries its counter and the receiver remembers which it has seen, as
    WireGuard and IPsec do (RFC 6479's ring of bits): a counter above the
    highest seen slides the window forward; one inside the window is
    accepted once; one older than the window is refused, since nobody can
    tell any more whether it was seen.

    Check, then authenticate, then `accept`: a forged datagram must not
    move the window.
*/
class replay_window {
public:
    /// How many counters below the highest are still accepted (WireGuard keeps 2,048; so does this).
    static constexpr std::uint64_t size = 2048;

    /// Whether `counter` would be accepted now.
    [[nodiscard]] bool fresh(std::uint64_t counter) const noexcept
    {
        if (!any_ || counter > highest_)
            return true;
        if (highest_ - counter >= size)
            return false;
        return !test(counter);
    }

    /// Marks `counter` received (only after the datagram authenticated). @return false if it was not fresh.
    bool accept(std::uint64_t counter) noexcept
    {
        if (!fresh(counter))
            return false;
        if (!any_) {
            any_ = true;
            highest_ = counter;
            bits_ = {};
        } else if (counter > highest_) {
            // Forget the counters the window slides past: their slots are reused.
            std::uint64_t const gap = counter - highest_;
            if (gap >= size)
                bits_ = {};
            else
                for (std::uint64_t c = highest_ + 1; c <= counter; ++c)
                    clear(c);
            highest_ = counter;
        }
        set(counter);
        return true;
    }

    /// The highest counter accepted (0 before any).
    [[nodiscard]] std::uint64_t highest() const noexcept { return highest_; }

private:
    static constexpr std::size_t words = size / 64;

    [[nodiscard]] bool test(std::uint64_t c) const noexcept { return (bits_[(c / 64) % words] >> (c % 64)) & 1u; }
    void set(std::uint64_t c) noexcept { bits_[(c / 64) % words] |= std::uint64_t{1} << (c % 64); }
    void clear(std::uint64_t c) noexcept { bits_[(c / 64) % words] &= ~(std::uint64_t{1} << (c % 64)); }

    std::array<std::uint64_t, words> bits_{};
    std::uint64_t highest_ = 0;
    bool any_ = false;
};

} // namespace meshkit::security

#endif // MESHKIT_SECURITY_REPLAY_WINDOW_HPP

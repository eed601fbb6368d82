// sync/sync_error.hpp
// ~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_SYNC_SYNC_ERROR_HPP
#define MESHKIT_SYNC_SYNC_ERROR_HPP

#include <string>
#include <system_error>
#include <type_traits>

namespace meshkit::sync {

/** Why a reconciliation message was refused.

    Its own category ("meshkit.sync"). A refused message changes nothing
    and gets no reply: the session it belonged to is dropped, and the next
    round starts afresh.
*/
enum class errc {
    /** A range's upper bound is not above the previous one (or the floor), or its id prefix exceeds 32 bytes. */
    unordered_ranges = 1,
    /** A range's mode is none of skip, fingerprint, id list or "you lack". */
    unknown_mode,
    /** A fingerprint is not 16 bytes, an id list is not a whole number of 32-byte ids, or its ids are not strictly increasing. */
    malformed_range,
    /** More ranges, or more ids in one range, than this node accepts. */
    too_large,
};

/// The category of `sync::errc`.
inline std::error_category const& error_category() noexcept
{
    struct category final : std::error_category {
        char const* name() const noexcept override { return "meshkit.sync"; }
        std::string message(int ev) const override
        {
            switch (static_cast<errc>(ev)) {
            case errc::unordered_ranges: return "reconciliation ranges out of order";
            case errc::unknown_mode: return "unknown reconciliation range mode";
            case errc::malformed_range: return "malformed reconciliation range";
            case errc::too_large: return "reconciliation message exceeds this node's limits";
            }
            return "unknown meshkit.sync error";
        }
    };
    static category const instance;
    return instance;
}

/// Makes `sync::errc` usable wherever a `std::error_code` is expected.
inline std::error_code make_error_code(errc e) noexcept
{
    return {static_cast<int>(e), error_category()};
}

} // namespace meshkit::sync

template <>
struct std::is_error_code_enum<meshkit::sync::errc> : std::true_type {};

#endif // MESHKIT_SYNC_SYNC_ERROR_HPP

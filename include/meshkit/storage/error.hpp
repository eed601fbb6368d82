// storage/error.hpp
// ~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_STORAGE_ERROR_HPP
#define MESHKIT_STORAGE_ERROR_HPP

#include <string>
#include <system_error>
#include <type_traits>

namespace meshkit::storage {

/** What a storage backend's `load` reports besides the operating system's errors.

    Its own enum and category ("meshkit.storage"): a missing key is a
    storage result, not a node or peer error, so a caller can tell "no
    value under that key" from "no such peer" (`nat::errc::unknown_peer`)
    by the category alone. A backend written by a user returns these too
    (docs/concepts/storage_backend.md).
*/
enum class errc {
    /** `load`: there is no value under the key (a first start, or it was erased). `out` is empty. */
    not_found = 1,
    /** `load`: the stored value failed its integrity check and no intact copy remains. `out` is empty. */
    corrupt,
};

/// The category of `storage::errc`.
inline std::error_category const& error_category() noexcept
{
    struct category final : std::error_category {
        char const* name() const noexcept override { return "meshkit.storage"; }
        std::string message(int ev) const override
        {
            switch (static_cast<errc>(ev)) {
            case errc::not_found: return "no value under that key";
            case errc::corrupt: return "stored value is corrupt";
            }
            return "unknown meshkit.storage error";
        }
    };
    static category const instance;
    return instance;
}

/// Makes `storage::errc` usable wherever a `std::error_code` is expected.
inline std::error_code make_error_code(errc e) noexcept
{
    return {static_cast<int>(e), error_category()};
}

} // namespace meshkit::storage

template <>
struct std::is_error_code_enum<meshkit::storage::errc> : std::true_type {};

#endif // MESHKIT_STORAGE_ERROR_HPP

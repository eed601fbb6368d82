// concepts/storage_backend.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_CONCEPTS_STORAGE_BACKEND_HPP
#define MESHKIT_CONCEPTS_STORAGE_BACKEND_HPP

#include <meshkit/storage/error.hpp>

#include <concepts>
#include <cstddef>
#include <span>
#include <string_view>
#include <system_error>
#include <vector>

namespace meshkit {

/** Where state that must survive a restart lives.

    A type `S` models `storage_backend` if, for `s` an `S`, `key` a
    `std::string_view`, `value` a `std::span<std::byte const>` and `out` a
    `std::vector<std::byte>`:

    1. `s.load(key, out)` replaces `out` with the value last stored under
       `key` and returns an empty `std::error_code`, or returns
       `meshkit::storage::errc::not_found` when there is none (leaving `out` empty),
       or another error when the medium fails.
    2. `s.store(key, value)` makes `value` the value under `key`. When it
       returns success the value survives a restart of the process (for
       persistent backends); a failed store leaves the previous value intact.
    3. `s.erase(key)` removes the key; erasing a missing key succeeds.

    See docs/concepts/storage_backend.md.
*/
template <class S>
concept storage_backend = requires(S& s, std::string_view key, std::span<std::byte const> value,
                                   std::vector<std::byte>& out) {
    { s.load(key, out) } -> std::same_as<std::error_code>;
    { s.store(key, value) } -> std::same_as<std::error_code>;
    { s.erase(key) } -> std::same_as<std::error_code>;
};

} // namespace meshkit

#endif // MESHKIT_CONCEPTS_STORAGE_BACKEND_HPP

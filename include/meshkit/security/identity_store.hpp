// security/identity_store.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_SECURITY_IDENTITY_STORE_HPP
#define MESHKIT_SECURITY_IDENTITY_STORE_HPP

#include <meshkit/concepts/storage_backend.hpp>
#include <meshkit/result.hpp>
#include <meshkit/security/error.hpp>
#include <meshkit/security/signing_key.hpp>
#include <meshkit/storage/error.hpp>

#include <sodium.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <system_error>
#include <vector>

/*  A node's key in its storage policy. The value is "MKK1", the 32-byte
    seed and the 32-byte public key it gives: the public half is redundant
    on purpose, so a damaged value is caught even on a medium without a
    checksum (a seed with one flipped bit is a valid seed of another key).
    `storage::file_store` writes it owner-only (0600) like everything it
    stores.
*/

namespace meshkit::security {

/// The storage key of a node's identity key.
inline constexpr char const* identity_storage_key = "meshkit/identity";

namespace identity_store_detail {
inline constexpr std::array<std::byte, 4> magic{std::byte{'M'}, std::byte{'K'}, std::byte{'K'}, std::byte{'1'}};
inline constexpr std::size_t value_size = 4 + 32 + 32;
} // namespace identity_store_detail

/** Reads the node's key from `storage`.

    @return the key; `storage::errc::not_found` when none is stored;
    `errc::corrupt_identity` when the value is damaged (wrong size or
    magic, a public half that does not match the seed, or a medium that
    reports it corrupt); the medium's own error otherwise.
*/
template <storage_backend Storage>
[[nodiscard]] result<signing_key> load_signing_key(Storage& storage)
{
    using namespace identity_store_detail;
    std::vector<std::byte> v;
    std::error_code const ec = storage.load(identity_storage_key, v);
    if (ec == storage::errc::not_found)
        return ec;
    if (ec == storage::errc::corrupt)
        return make_error_code(errc::corrupt_identity);
    if (ec)
        return ec;
    if (v.size() != value_size || std::memcmp(v.data(), magic.data(), magic.size()) != 0)
        return make_error_code(errc::corrupt_identity);
    std::array<std::uint8_t, 32> seed;
    std::memcpy(seed.data(), v.data() + 4, 32);
    signing_key key(seed);
    bool const intact = std::memcmp(key.id().bytes.data(), v.data() + 36, 32) == 0;
    sodium_memzero(seed.data(), seed.size());
    sodium_memzero(v.data(), v.size());
    if (!intact)
        return make_error_code(errc::corrupt_identity);
    return key;
}

/// Writes `key` to `storage` under `identity_storage_key`.
template <storage_backend Storage>
std::error_code store_signing_key(Storage& storage, signing_key const& key)
{
    using namespace identity_store_detail;
    std::array<std::byte, value_size> v;
    std::memcpy(v.data(), magic.data(), 4);
    std::memcpy(v.data() + 4, key.seed().data(), 32);
    std::memcpy(v.data() + 36, key.id().bytes.data(), 32);
    std::error_code const ec = storage.store(identity_storage_key, v);
    sodium_memzero(v.data(), v.size());
    return ec;
}

/** The node's key: the stored one, or on a first start (nothing stored) a new one from `make()`, stored.

    Never a silent new identity: a damaged key, or a medium that cannot be
    read, is an error the node refuses to start with.
    @throws std::system_error with `errc::corrupt_identity` or the medium's
    error; or when a new key cannot be stored (a node that cannot keep its
    identity would come back as someone else).
*/
template <storage_backend Storage, class Make>
[[nodiscard]] signing_key load_or_create_signing_key(Storage& storage, Make&& make)
{
    auto loaded = load_signing_key(storage);
    if (loaded)
        return *loaded;
    if (loaded.error() != storage::errc::not_found)
        throw std::system_error(loaded.error(), "meshkit: cannot load the node's identity key");
    signing_key key = make();
    if (std::error_code const ec = store_signing_key(storage, key))
        throw std::system_error(ec, "meshkit: cannot store the node's new identity key");
    return key;
}

} // namespace meshkit::security

#endif // MESHKIT_SECURITY_IDENTITY_STORE_HPP

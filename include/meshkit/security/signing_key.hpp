// security/signing_key.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_SECURITY_SIGNING_KEY_HPP
#define MESHKIT_SECURITY_SIGNING_KEY_HPP

#include <meshkit/node_id.hpp>
#include <meshkit/security/detail/sodium.hpp>
#include <meshkit/security/signature.hpp>

#include <sodium.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace meshkit::security {

/// An X25519 public or secret key: 32 bytes (the Noise handshake's static and ephemeral keys).
using x25519_key = std::array<std::uint8_t, 32>;

/** A node's Ed25519 key pair: its identity. The node's id is the public key.

    Made from a 32-byte seed (libsodium's `crypto_sign_seed_keypair`): a
    fresh random one for a real node, one drawn from the node's seeded
    generator on the simulator, so a run replays. The secret half never
    leaves this object except as `seed()`, for the identity store, and is
    wiped when the object is destroyed.

    The same key authenticates the node's Noise sessions: its X25519 form
    (`x25519_secret()`, the birational map libsodium implements) is the
    handshake's static key, so a peer that completes a handshake with it
    has proven it holds the id's secret key, with no extra signature.
*/
class signing_key {
public:
    /// The seed's size.
    static constexpr std::size_t seed_size = 32;

    /// A new key from the operating system's random source.
    [[nodiscard]] static signing_key generate()
    {
        detail::ensure_sodium();
        std::array<std::uint8_t, seed_size> seed;
        randombytes_buf(seed.data(), seed.size());
        signing_key k(seed);
        sodium_memzero(seed.data(), seed.size());
        return k;
    }

    /// The key a 32-byte seed determines (the same seed gives the same key on every host).
    explicit signing_key(std::span<std::uint8_t const, seed_size> seed)
    {
        detail::ensure_sodium();
        crypto_sign_seed_keypair(public_.bytes.data(), secret_.data(), seed.data());
    }

    signing_key(signing_key const&) = default;
    signing_key& operator=(signing_key const&) = default;
    ~signing_key() { sodium_memzero(secret_.data(), secret_.size()); }

    /// The node id this key is: its public half.
    [[nodiscard]] node_id const& id() const noexcept { return public_; }

    /// The seed, for storing the key (libsodium keeps it as the secret key's first half).
    [[nodiscard]] std::span<std::uint8_t const, seed_size> seed() const noexcept
    {
        return std::span<std::uint8_t const, 64>(secret_).first<seed_size>();
    }

    /// Signs `message` (Ed25519, deterministic: the same message gives the same signature).
    [[nodiscard]] signature sign(std::span<std::byte const> message) const noexcept
    {
        signature sig;
        crypto_sign_detached(sig.data(), nullptr, reinterpret_cast<unsigned char const*>(message.data()),
                             message.size(), secret_.data());
        return sig;
    }

    /// This key's X25519 secret: the Noise static key of the node's sessions.
    [[nodiscard]] x25519_key x25519_secret() const noexcept
    {
        x25519_key x;
        crypto_sign_ed25519_sk_to_curve25519(x.data(), secret_.data());
        return x;
    }

private:
    node_id public_{};
    std::array<std::uint8_t, 64> secret_{};
};

/** Whether `sig` is `author`'s signature of `message`.

    False for a forged or damaged signature, and for an id that is no valid
    Ed25519 public key (a simulator id, or an attacker's small-order point).
*/
[[nodiscard]] inline bool verify(node_id const& author, std::span<std::byte const> message,
                                 signature const& sig) noexcept
{
    if (sodium_init() < 0)
        return false;
    return crypto_sign_verify_detached(sig.data(), reinterpret_cast<unsigned char const*>(message.data()),
                                       message.size(), author.bytes.data()) == 0;
}

/** The X25519 public key that node `id` authenticates its sessions with, or none if `id` is no Ed25519 key.

    A handshake whose remote static key differs from this was not made by
    the holder of `id`.
*/
[[nodiscard]] inline std::optional<x25519_key> x25519_public_of(node_id const& id) noexcept
{
    if (sodium_init() < 0)
        return std::nullopt;
    x25519_key x;
    if (crypto_sign_ed25519_pk_to_curve25519(x.data(), id.bytes.data()) != 0)
        return std::nullopt;
    return x;
}

} // namespace meshkit::security

#endif // MESHKIT_SECURITY_SIGNING_KEY_HPP

// security/noise/symmetric_state.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_SECURITY_NOISE_SYMMETRIC_STATE_HPP
#define MESHKIT_SECURITY_NOISE_SYMMETRIC_STATE_HPP

#include <meshkit/security/noise/cipher_state.hpp>

#include <sodium.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

namespace meshkit::security::noise {

/// SHA-256's output: Noise's HASHLEN for the SHA256 hash function.
inline constexpr std::size_t hash_size = 32;

using digest = std::array<std::uint8_t, hash_size>;

/** A Noise SymmetricState with SHA-256 (Noise specification §5.2): the chaining key, the handshake hash and a cipher.

    HMAC-SHA256 and SHA-256 are libsodium's; HKDF is the specification's
    two- and three-output construction over them.
*/
class symmetric_state {
public:
    /// InitializeSymmetric: `h` is the protocol name, zero-padded, or its hash when longer than 32 bytes.
    explicit symmetric_state(std::string_view protocol_name)
    {
        detail::ensure_sodium();
        if (protocol_name.size() <= hash_size) {
            h_.fill(0);
            std::memcpy(h_.data(), protocol_name.data(), protocol_name.size());
        } else {
            crypto_hash_sha256(h_.data(), reinterpret_cast<unsigned char const*>(protocol_name.data()),
                               protocol_name.size());
        }
        ck_ = h_;
    }

    symmetric_state(symmetric_state const&) = default;
    symmetric_state& operator=(symmetric_state const&) = default;
    ~symmetric_state() { sodium_memzero(ck_.data(), ck_.size()); }

    /// MixKey: the chaining key and a new cipher key from `input_key_material` (a DH result).
    void mix_key(std::span<std::uint8_t const> input_key_material)
    {
        auto [ck, k] = hkdf2(ck_, input_key_material);
        ck_ = ck;
        cipher_.initialize_key(k);
        sodium_memzero(k.data(), k.size());
    }

    /// MixHash: h = SHA-256(h || data).
    void mix_hash(std::span<std::byte const> data)
    {
        crypto_hash_sha256_state st;
        crypto_hash_sha256_init(&st);
        crypto_hash_sha256_update(&st, h_.data(), h_.size());
        crypto_hash_sha256_update(&st, reinterpret_cast<unsigned char const*>(data.data()), data.size());
        crypto_hash_sha256_final(&st, h_.data());
    }

    /// EncryptAndHash: appends the encryption of `plaintext` (with `h` as associated data) to `out`.
    void encrypt_and_hash(std::span<std::byte const> plaintext, std::vector<std::byte>& out)
    {
        std::size_t const at = out.size();
        cipher_.encrypt_with_ad(std::as_bytes(std::span(h_)), plaintext, out);
        mix_hash(std::span<std::byte const>(out).subspan(at));
    }

    /// DecryptAndHash: appends the decryption of `ciphertext` to `out`; false if it fails to authenticate.
    [[nodiscard]] bool decrypt_and_hash(std::span<std::byte const> ciphertext, std::vector<std::byte>& out)
    {
        if (!cipher_.decrypt_with_ad(std::as_bytes(std::span(h_)), ciphertext, out))
            return false;
        mix_hash(ciphertext);
        return true;
    }

    /// Split: the two transport ciphers, the initiator's sending one first.
    [[nodiscard]] std::pair<cipher_state, cipher_state> split() const
    {
        auto [k1, k2] = hkdf2(ck_, {});
        std::pair<cipher_state, cipher_state> out{cipher_state(k1), cipher_state(k2)};
        sodium_memzero(k1.data(), k1.size());
        sodium_memzero(k2.data(), k2.size());
        return out;
    }

    [[nodiscard]] bool has_key() const noexcept { return cipher_.has_key(); }
    /// The handshake hash: after the handshake, a value both sides share and nobody else can know.
    [[nodiscard]] digest const& handshake_hash() const noexcept { return h_; }

private:
    static digest hmac(std::span<std::uint8_t const> key, std::span<std::uint8_t const> a,
                       std::span<std::uint8_t const> b = {})
    {
        crypto_auth_hmacsha256_state st;
        crypto_auth_hmacsha256_init(&st, key.data(), key.size());
        crypto_auth_hmacsha256_update(&st, a.data(), a.size());
        crypto_auth_hmacsha256_update(&st, b.data(), b.size());
        digest out;
        crypto_auth_hmacsha256_final(&st, out.data());
        sodium_memzero(&st, sizeof st);
        return out;
    }

    /// HKDF with two outputs (Noise §4.3).
    static std::pair<digest, digest> hkdf2(digest const& chaining_key, std::span<std::uint8_t const> ikm)
    {
        digest temp = hmac(chaining_key, ikm);
        std::uint8_t const one = 0x01, two = 0x02;
        digest o1 = hmac(temp, std::span(&one, 1));
        digest o2 = hmac(temp, o1, std::span(&two, 1));
        sodium_memzero(temp.data(), temp.size());
        return {o1, o2};
    }

    digest h_{};
    digest ck_{};
    cipher_state cipher_;
};

} // namespace meshkit::security::noise

#endif // MESHKIT_SECURITY_NOISE_SYMMETRIC_STATE_HPP

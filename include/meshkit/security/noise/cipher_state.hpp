// security/noise/cipher_state.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_SECURITY_NOISE_CIPHER_STATE_HPP
#define MESHKIT_SECURITY_NOISE_CIPHER_STATE_HPP

#include <meshkit/security/detail/sodium.hpp>

#include <sodium.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>
#include <vector>

namespace meshkit::security::noise {

/// ChaCha20-Poly1305's tag: what encryption adds to a plaintext.
inline constexpr std::size_t tag_size = 16;

/** A Noise CipherState for ChaChaPoly (Noise specification §5.1): a key and a 64-bit nonce.

    Until a key is set it passes plaintext through, as the specification
    says. `encrypt_with_ad`/`decrypt_with_ad` use and advance the internal
    nonce (the handshake, and ordered transports); `encrypt_at`/`decrypt_at`
    take the nonce explicitly, for datagrams that may arrive out of order
    or not at all, where the counter travels with each one (the secure
    transport does, with a replay window, as WireGuard does).

    The nonce is 32 zero bits then the counter, little-endian: the Noise
    ChaChaPoly encoding, so independent implementations interoperate.
*/
class cipher_state {
public:
    using key_type = std::array<std::uint8_t, 32>;

    cipher_state() = default;
    explicit cipher_state(key_type const& k) noexcept { initialize_key(k); }
    cipher_state(cipher_state const&) = default;
    cipher_state& operator=(cipher_state const&) = default;
    ~cipher_state() { sodium_memzero(k_.data(), k_.size()); }

    void initialize_key(key_type const& k) noexcept
    {
        k_ = k;
        has_key_ = true;
        n_ = 0;
    }

    [[nodiscard]] bool has_key() const noexcept { return has_key_; }
    [[nodiscard]] std::uint64_t nonce() const noexcept { return n_; }
    void set_nonce(std::uint64_t n) noexcept { n_ = n; }

    /// Appends the encryption of `plaintext` (with `ad`) at the current nonce to `out`, and advances the nonce.
    void encrypt_with_ad(std::span<std::byte const> ad, std::span<std::byte const> plaintext,
                         std::vector<std::byte>& out)
    {
        if (!has_key_) {
            out.insert(out.end(), plaintext.begin(), plaintext.end());
            return;
        }
        encrypt_at(n_++, ad, plaintext, out);
    }

    /** Appends the decryption of `ciphertext` at the current nonce to `out` and advances the nonce.

        @return false (and `out` and the nonce unchanged) if it fails to authenticate.
    */
    [[nodiscard]] bool decrypt_with_ad(std::span<std::byte const> ad, std::span<std::byte const> ciphertext,
                                       std::vector<std::byte>& out)
    {
        if (!has_key_) {
            out.insert(out.end(), ciphertext.begin(), ciphertext.end());
            return true;
        }
        if (!decrypt_at(n_, ad, ciphertext, out))
            return false;
        ++n_;
        return true;
    }

    /// Appends the encryption of `plaintext` at nonce `n` to `out`; the internal nonce is untouched.
    void encrypt_at(std::uint64_t n, std::span<std::byte const> ad, std::span<std::byte const> plaintext,
                    std::vector<std::byte>& out) const
    {
        auto const nonce = encode_nonce(n);
        std::size_t const at = out.size();
        out.resize(at + plaintext.size() + tag_size);
        unsigned long long written = 0;
        crypto_aead_chacha20poly1305_ietf_encrypt(as_uchar(out.data() + at), &written, as_uchar(plaintext.data()),
                                                  plaintext.size(), as_uchar(ad.data()), ad.size(), nullptr,
                                                  nonce.data(), k_.data());
        out.resize(at + static_cast<std::size_t>(written));
    }

    /// Appends the decryption of `ciphertext` at nonce `n` to `out`; false (and `out` unchanged) if it fails.
    [[nodiscard]] bool decrypt_at(std::uint64_t n, std::span<std::byte const> ad, std::span<std::byte const> ciphertext,
                                  std::vector<std::byte>& out) const
    {
        if (ciphertext.size() < tag_size)
            return false;
        auto const nonce = encode_nonce(n);
        std::size_t const at = out.size();
        out.resize(at + ciphertext.size() - tag_size);
        unsigned long long written = 0;
        if (crypto_aead_chacha20poly1305_ietf_decrypt(as_uchar(out.data() + at), &written, nullptr,
                                                      as_uchar(ciphertext.data()), ciphertext.size(),
                                                      as_uchar(ad.data()), ad.size(), nonce.data(), k_.data()) != 0) {
            out.resize(at);
            return false;
        }
        out.resize(at + static_cast<std::size_t>(written));
        return true;
    }

private:
    static unsigned char* as_uchar(std::byte* p) noexcept { return reinterpret_cast<unsigned char*>(p); }
    static unsigned char const* as_uchar(std::byte const* p) noexcept
    {
        return reinterpret_cast<unsigned char const*>(p);
    }

    static std::array<unsigned char, 12> encode_nonce(std::uint64_t n) noexcept
    {
        std::array<unsigned char, 12> nonce{};
        for (int i = 0; i < 8; ++i)
            nonce[4 + static_cast<std::size_t>(i)] = static_cast<unsigned char>(n >> (8 * i));
        return nonce;
    }

    key_type k_{};
    std::uint64_t n_ = 0;
    bool has_key_ = false;
};

} // namespace meshkit::security::noise

#endif // MESHKIT_SECURITY_NOISE_CIPHER_STATE_HPP

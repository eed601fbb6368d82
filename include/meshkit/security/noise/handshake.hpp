// security/noise/handshake.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_SECURITY_NOISE_HANDSHAKE_HPP
#define MESHKIT_SECURITY_NOISE_HANDSHAKE_HPP

#include <meshkit/security/error.hpp>
#include <meshkit/security/noise/cipher_state.hpp>
#include <meshkit/security/noise/symmetric_state.hpp>
#include <meshkit/security/signing_key.hpp>

#include <sodium.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <system_error>
#include <utility>
#include <vector>

namespace meshkit::security::noise {

/// The protocol this handshake implements, as Noise names it (and mixes it into every key).
inline constexpr char const* xx_protocol_name = "Noise_XX_25519_ChaChaPoly_SHA256";

/// The size of an X25519 public key on the wire.
inline constexpr std::size_t dh_size = 32;

/// The public key of an X25519 secret key.
[[nodiscard]] inline x25519_key x25519_public(x25519_key const& secret) noexcept
{
    x25519_key pub;
    crypto_scalarmult_base(pub.data(), secret.data());
    return pub;
}

/** One side of a Noise XX handshake (`Noise_XX_25519_ChaChaPoly_SHA256`), sans-IO.

        -> e
        <- e, ee, s, es
        -> s, se

    Three messages; each may carry a payload (the first in the clear, the
    second and third encrypted). After the third, `split()` gives the two
    transport ciphers and `remote_static()` is the peer's proven X25519
    key. The ephemeral secret is passed in, so the caller decides where
    randomness comes from: the operating system on a real node, the seeded
    generator on the simulator (a run replays bit for bit), fixed keys in
    the published test vectors.

    Hostile input is normal input: a message that is short, long or fails
    to authenticate is refused with `errc::handshake_failed` and leaves the
    handshake exactly as it was. An X25519 result of all zeros (a peer's
    small-order key) is refused too: it would make every later key public.
*/
class xx_handshake {
public:
    enum class role { initiator, responder };

    /** A handshake as `r`, with static key `static_secret`, prologue `prologue` (both sides must agree on it) and
        ephemeral key `ephemeral_secret`.
    */
    xx_handshake(role r, x25519_key const& static_secret, std::span<std::byte const> prologue,
                 x25519_key const& ephemeral_secret)
        : role_(r), ss_(xx_protocol_name), s_(static_secret), e_(ephemeral_secret)
    {
        s_pub_ = x25519_public(s_);
        e_pub_ = x25519_public(e_);
        ss_.mix_hash(prologue);
    }

    xx_handshake(xx_handshake const&) = default;
    xx_handshake& operator=(xx_handshake const&) = default;
    ~xx_handshake()
    {
        sodium_memzero(s_.data(), s_.size());
        sodium_memzero(e_.data(), e_.size());
    }

    /// Which message comes next: 0, 1 or 2; 3 when the handshake is complete.
    [[nodiscard]] int next_message() const noexcept { return step_; }
    [[nodiscard]] bool complete() const noexcept { return step_ == 3; }
    [[nodiscard]] role our_role() const noexcept { return role_; }
    /// Whether the next message is this side's to write.
    [[nodiscard]] bool our_turn() const noexcept { return step_ < 3 && (step_ % 2 == 0) == (role_ == role::initiator); }

    /// The size of message `index` carrying a payload of `payload_size` bytes.
    [[nodiscard]] static constexpr std::size_t message_size(int index, std::size_t payload_size) noexcept
    {
        switch (index) {
        case 0: return dh_size + payload_size;
        case 1: return dh_size + dh_size + tag_size + payload_size + tag_size;
        default: return dh_size + tag_size + payload_size + tag_size;
        }
    }

    /** Appends this side's next message, carrying `payload`, to `out`.

        @return `errc::handshake_failed` when it is not this side's turn, or an X25519 result is all zeros.
    */
    std::error_code write_message(std::span<std::byte const> payload, std::vector<std::byte>& out)
    {
        if (!our_turn())
            return make_error_code(errc::handshake_failed);
        symmetric_state ss = ss_;
        std::size_t const at = out.size();
        bool ok = true;
        switch (step_) {
        case 0: // -> e
            append(out, e_pub_);
            ss.mix_hash(std::as_bytes(std::span(e_pub_)));
            break;
        case 1: // <- e, ee, s, es
            append(out, e_pub_);
            ss.mix_hash(std::as_bytes(std::span(e_pub_)));
            ok = mix_dh(ss, e_, re_);
            ss.encrypt_and_hash(std::as_bytes(std::span(s_pub_)), out);
            ok = ok && mix_dh(ss, s_, re_);
            break;
        default: // -> s, se
            ss.encrypt_and_hash(std::as_bytes(std::span(s_pub_)), out);
            ok = mix_dh(ss, s_, re_);
            break;
        }
        if (!ok) {
            out.resize(at);
            return make_error_code(errc::handshake_failed);
        }
        ss.encrypt_and_hash(payload, out);
        ss_ = ss;
        ++step_;
        return {};
    }

    /** Reads the peer's next message and appends its payload to `payload`.

        @return `errc::handshake_failed` when it is not the peer's turn, or
        the message is malformed or fails to authenticate; the handshake
        and `payload` are then unchanged.
    */
    std::error_code read_message(std::span<std::byte const> message, std::vector<std::byte>& payload)
    {
        if (step_ >= 3 || our_turn() || message.size() < message_size(step_, 0))
            return make_error_code(errc::handshake_failed);
        symmetric_state ss = ss_;
        x25519_key re = re_, rs = rs_;
        std::size_t const at = payload.size();
        std::vector<std::byte> key;
        auto rest = message;
        bool ok = true;
        auto take_dh = [&](x25519_key& into) {
            std::memcpy(into.data(), rest.data(), dh_size);
            ss.mix_hash(rest.first(dh_size));
            rest = rest.subspan(dh_size);
        };
        auto take_static = [&] {
            key.clear();
            ok = ok && ss.decrypt_and_hash(rest.first(dh_size + tag_size), key);
            if (ok)
                std::memcpy(rs.data(), key.data(), dh_size);
            rest = rest.subspan(dh_size + tag_size);
        };
        switch (step_) {
        case 0: // -> e
            take_dh(re);
            break;
        case 1: // <- e, ee, s, es
            take_dh(re);
            ok = mix_dh(ss, e_, re);
            take_static();
            ok = ok && mix_dh(ss, e_, rs);
            break;
        default: // -> s, se
            take_static();
            ok = ok && mix_dh(ss, e_, rs);
            break;
        }
        if (!ok || !ss.decrypt_and_hash(rest, payload)) {
            payload.resize(at);
            return make_error_code(errc::handshake_failed);
        }
        ss_ = ss;
        re_ = re;
        rs_ = rs;
        ++step_;
        return {};
    }

    /// The peer's static key (meaningful once the peer's message carrying it was read).
    [[nodiscard]] x25519_key const& remote_static() const noexcept { return rs_; }
    /// This side's ephemeral public key, as sent in its first message.
    [[nodiscard]] x25519_key const& local_ephemeral() const noexcept { return e_pub_; }
    [[nodiscard]] digest const& handshake_hash() const noexcept { return ss_.handshake_hash(); }

    /// The transport ciphers, once complete: (this side's sending one, its receiving one).
    [[nodiscard]] std::pair<cipher_state, cipher_state> split() const
    {
        auto [c1, c2] = ss_.split();
        if (role_ == role::initiator)
            return {c1, c2};
        return {c2, c1};
    }

private:
    static void append(std::vector<std::byte>& out, x25519_key const& k)
    {
        auto const b = std::as_bytes(std::span(k));
        out.insert(out.end(), b.begin(), b.end());
    }

    /// MixKey(DH(secret, pub)); false for an all-zero result.
    static bool mix_dh(symmetric_state& ss, x25519_key const& secret, x25519_key const& pub)
    {
        std::array<std::uint8_t, 32> shared;
        if (crypto_scalarmult(shared.data(), secret.data(), pub.data()) != 0)
            return false;
        ss.mix_key(shared);
        sodium_memzero(shared.data(), shared.size());
        return true;
    }

    role role_;
    symmetric_state ss_;
    x25519_key s_, s_pub_{};
    x25519_key e_, e_pub_{};
    x25519_key re_{}, rs_{};
    int step_ = 0;
};

} // namespace meshkit::security::noise

#endif // MESHKIT_SECURITY_NOISE_HANDSHAKE_HPP

// security/error.hpp
// ~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_SECURITY_ERROR_HPP
#define MESHKIT_SECURITY_ERROR_HPP

#include <string>
#include <system_error>
#include <type_traits>

namespace meshkit::security {

/** What meshkit's security layer reports: identities, signatures and sessions.

    Its own category ("meshkit.security"), so a caller can tell "that peer
    is not who it claims" from a network error by the category alone.
*/
enum class errc {
    /** The identity key in storage is damaged. The node refuses to start rather than become someone else. */
    corrupt_identity = 1,
    /** A signature did not verify against the claimed author's key. */
    bad_signature,
    /** A record is older than (or as old as) the one already held from its author. */
    stale_record,
    /** A Noise handshake message failed to decrypt or parse. */
    handshake_failed,
    /** The handshake completed with a key other than the node id expected at that address. */
    unexpected_peer,
    /** An encrypted datagram failed authentication. */
    decrypt_failed,
    /** An encrypted datagram's counter was already seen, or is too old for the replay window. */
    replayed,
    /** A handshake was refused because its source exceeded the handshake rate limit. */
    rate_limited,
    /** The session's send queue is full while its handshake completes; the datagram was dropped. */
    queue_full,
    /** libsodium could not be initialised (no entropy source). */
    no_crypto,
};

/// The category of `security::errc`.
inline std::error_category const& error_category() noexcept
{
    struct category final : std::error_category {
        char const* name() const noexcept override { return "meshkit.security"; }
        std::string message(int ev) const override
        {
            switch (static_cast<errc>(ev)) {
            case errc::corrupt_identity:
                return "the stored identity key is corrupt (refusing to start as a new identity; restore it, or "
                       "remove it to start as a new node)";
            case errc::bad_signature: return "signature does not verify";
            case errc::stale_record: return "record is not newer than the one held";
            case errc::handshake_failed: return "handshake message failed to authenticate";
            case errc::unexpected_peer: return "peer's key is not the expected node id";
            case errc::decrypt_failed: return "encrypted datagram failed authentication";
            case errc::replayed: return "datagram replayed or outside the replay window";
            case errc::rate_limited: return "handshake rate limit exceeded";
            case errc::queue_full: return "send queue full while the handshake completes";
            case errc::no_crypto: return "libsodium could not be initialised";
            }
            return "unknown meshkit.security error";
        }
    };
    static category const instance;
    return instance;
}

/// Makes `security::errc` usable wherever a `std::error_code` is expected.
inline std::error_code make_error_code(errc e) noexcept
{
    return {static_cast<int>(e), error_category()};
}

} // namespace meshkit::security

template <>
struct std::is_error_code_enum<meshkit::security::errc> : std::true_type {};

#endif // MESHKIT_SECURITY_ERROR_HPP

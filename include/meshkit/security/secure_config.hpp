// security/secure_config.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_SECURITY_SECURE_CONFIG_HPP
#define MESHKIT_SECURITY_SECURE_CONFIG_HPP

#include <meshkit/time.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <stdexcept>

namespace meshkit::security {

/** The limits of a `secure_transport`. Every table and queue it keeps is bounded by one of these.

    The defaults follow WireGuard where it has one (rekey after 120 s,
    retry a handshake every second, give up after 10 s... see each), and
    docs/security.md lists them all with why.
*/
struct secure_config {
    /// Peers (sessions, handshakes) held at once; the least recently active one is evicted beyond.
    std::size_t max_peers = 4096;
    /// Responder handshakes waiting for their third message; beyond, a handshake must return a cookie.
    std::size_t max_half_open = 64;
    /// Datagrams queued for one peer while its handshake completes; beyond, `send` refuses with `errc::queue_full`.
    std::size_t queue_per_peer = 32;
    /// Data frames held for a responder handshake whose third message is late (reordered); beyond, dropped.
    std::size_t early_per_peer = 8;
    /// Handshakes a source IP may start per second, sustained (token bucket); WireGuard allows 20.
    double handshakes_per_second = 20;
    /// ... and in a burst.
    double handshake_burst = 40;
    /// Source IPs whose handshake rate is tracked at once.
    std::size_t rate_table_size = 4096;
    /// A handshake message is resent when a send finds it unanswered this long (WireGuard: 5 s; we have no timer).
    duration handshake_retry = std::chrono::seconds(1);
    /// A handshake not complete after this long is abandoned, with what was queued for it.
    duration handshake_timeout = std::chrono::seconds(10);
    /// A session older than this starts a new handshake (WireGuard's REKEY_AFTER_TIME).
    duration rekey_after_time = std::chrono::seconds(120);
    /// A session that sent this many datagrams starts a new handshake.
    std::uint64_t rekey_after_messages = std::uint64_t{1} << 30;
    /// A session that sent for this long and received nothing starts a new handshake (the peer may have restarted).
    duration silence_rehandshake = std::chrono::seconds(15);
    /// How long a cookie secret lives (WireGuard: 2 min); the previous one is still accepted.
    duration cookie_secret_lifetime = std::chrono::minutes(2);
    /** Debugging only: datagrams pass through unencrypted and unauthenticated, and the node checks no
        sender (`meshkit-node --insecure`). Such a node talks only to others in the same mode.
    */
    bool plaintext = false;

    /// @throws std::invalid_argument when a limit is zero or negative.
    void validate() const
    {
        if (max_peers == 0 || max_half_open == 0 || queue_per_peer == 0 || rate_table_size == 0 ||
            handshakes_per_second <= 0 || handshake_burst < 1 || handshake_retry <= duration::zero() ||
            handshake_timeout <= handshake_retry || rekey_after_time <= duration::zero() ||
            rekey_after_messages == 0 || silence_rehandshake <= duration::zero() ||
            cookie_secret_lifetime <= duration::zero())
            throw std::invalid_argument("meshkit::security::secure_config: every limit must be positive");
    }
};

} // namespace meshkit::security

#endif // MESHKIT_SECURITY_SECURE_CONFIG_HPP

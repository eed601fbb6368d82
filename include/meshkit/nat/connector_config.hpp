// nat/connector_config.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_NAT_CONNECTOR_CONFIG_HPP
#define MESHKIT_NAT_CONNECTOR_CONFIG_HPP

#include <meshkit/nat/observed_address.hpp>
#include <meshkit/time.hpp>

#include <chrono>
#include <cstddef>

namespace meshkit::nat {

/** Settings of the connector; defaults follow the seed's design decisions and the research.

    Direct for 2 s (the seed allows 2 to 5), then up to 3 punch rounds in a
    30 s budget (DCUtR makes 3 attempts; 97.6 % of its successes land on
    the first), then a relay whose session lives 30 s unless refreshed.
    Keepalives every 10 s hold NAT mappings that deployed NATs drop after
    about 30 s. Backoff doubles from 1 s to 60 s, as every system in
    `research/seeds.md` does.
*/
struct connector_config {
    /// How long to try the direct path before asking for a punch.
    duration direct_timeout = std::chrono::seconds(2);
    /// Direct probes are repeated this often.
    duration probe_interval = std::chrono::milliseconds(250);
    /// Punch rounds before falling back to a relay.
    unsigned punch_rounds = 3;
    /// A round that has not connected after this long is over.
    duration punch_round_timeout = std::chrono::seconds(3);
    /// All rounds together stop after this long.
    duration punch_budget = std::chrono::seconds(30);
    /// Probes each side fires in one round, and their spacing.
    unsigned punch_probes = 10;
    duration punch_probe_interval = std::chrono::milliseconds(100);
    /// Added to the intermediary's synchronised firing time, for its RTT estimates' error.
    duration punch_margin = std::chrono::milliseconds(20);
    /// Ports guessed after the highest observed one when the requester is behind a symmetric NAT.
    std::size_t predicted_ports = 16;
    /** Birthday-paradox probing, when exactly one side of a punch is behind a symmetric NAT.

        The symmetric side opens `birthday_sockets` extra sockets; the
        other sends up to `birthday_probes` probes to random ports of its
        address, `birthday_rate` a second (polite: 1,024 probes take 4 s),
        in at most `birthday_concurrent` punches at once. 256 and 1,024
        find a mapping with probability 1 - (1 - 256/64,512)^1,024 = 98 %.
        Off when the transport cannot open sockets (it says so: 0 opened).
    */
    bool birthday = true;
    std::size_t birthday_sockets = 256;
    std::size_t birthday_probes = 1024;
    std::size_t birthday_rate = 256;
    std::size_t birthday_concurrent = 4;
    /// Keepalives on an established direct connection; below every NAT's idle timeout.
    duration keepalive_interval = std::chrono::seconds(10);
    /// Silence after which a connection is down.
    duration connection_timeout = std::chrono::seconds(30);
    /// A relay session with no frame for this long is dropped by the relay.
    duration relay_ttl = std::chrono::seconds(30);
    /// Keepalives through a relay, end to end.
    duration relay_keepalive = std::chrono::seconds(5);
    /// No answer through the relay for this long: fail over to another.
    duration relay_timeout = std::chrono::seconds(12);
    /// While relayed, a punch is retried this often, to upgrade.
    duration upgrade_interval = std::chrono::seconds(30);
    /// Retry delays after the ladder failed, doubling.
    duration backoff_initial = std::chrono::seconds(1);
    duration backoff_max = std::chrono::seconds(60);
    /// Unacknowledged application messages are sent again this often.
    duration retransmit_interval = std::chrono::seconds(1);
    /// Public peers to keep sessions with: our introducers and relays.
    std::size_t introducers = 3;
    /** An introducer candidate that did not answer is not probed again for this long, doubling per failure.

        With fewer public peers than `introducers`, discovery keeps offering
        the same dead or unreachable addresses; without this the node would
        probe them every few seconds for as long as it runs.
    */
    duration candidate_retry_initial = std::chrono::seconds(30);
    duration candidate_retry_max = std::chrono::minutes(10);
    /// Addresses remembered as unanswering (the oldest retry is forgotten first).
    std::size_t max_unanswering = 64;
    /// Bounds: connections, relay sessions served, unacknowledged messages per connection.
    std::size_t max_connections = 256;
    std::size_t max_relay_sessions = 128;
    /** What one relay session (a reservation) may use before the relay ends it: libp2p circuit v2's defaults.

        The requester then asks again, and the relay, if busy, refuses: so
        no single pair holds a relay's bandwidth indefinitely.
    */
    duration relay_session_limit = std::chrono::minutes(2);
    std::size_t relay_session_bytes = 128 * 1024;
    /// Sessions one requester may hold on this relay at once.
    std::size_t max_relay_sessions_per_peer = 8;
    std::size_t max_pending_messages = 64;
    /// The largest application payload `send` accepts.
    std::size_t max_payload = 1024;
    /// Whether this node coordinates punches and relays for others (it does so only where it can).
    bool coordinate = true;
    bool relay = true;
    /// The engine's clock granularity.
    duration tick = std::chrono::milliseconds(100);
    observed_address_config observed{};
};

} // namespace meshkit::nat

#endif // MESHKIT_NAT_CONNECTOR_CONFIG_HPP

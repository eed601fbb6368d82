// nat/connector.hpp
// ~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_NAT_CONNECTOR_HPP
#define MESHKIT_NAT_CONNECTOR_HPP

#include <meshkit/endpoint.hpp>
#include <meshkit/inbound.hpp>
#include <meshkit/link_events.hpp>
#include <meshkit/membership/rtt_estimator.hpp>
#include <meshkit/nat/connection_events.hpp>
#include <meshkit/nat/connector_config.hpp>
#include <meshkit/nat/connector_stats.hpp>
#include <meshkit/nat/error.hpp>
#include <meshkit/nat/introducer_pool.hpp>
#include <meshkit/nat/nat_type.hpp>
#include <meshkit/nat/observed_address.hpp>
#include <meshkit/nat/punch_coordinator.hpp>
#include <meshkit/nat/relay_server.hpp>
#include <meshkit/nat/reliable_channel.hpp>
#include <meshkit/nat/traversal_messages.hpp>
#include <meshkit/node_id.hpp>
#include <meshkit/peer_events.hpp>
#include <meshkit/time.hpp>
#include <meshkit/type_list.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <system_error>
#include <vector>

namespace meshkit::nat {

/// A connection as the application sees it.
struct connection_info {
    node_id peer;
    link_method method = link_method::direct;
    bool established = false;
    bool initiated = false;
    bool upgraded = false;
    unsigned attempts = 0;
    duration time_to_connect{};
    /// The direct path, if any.
    endpoint path;
    /// The relay in use, if relayed.
    endpoint relay;
    nat_type peer_nat = nat_type::unknown;
    std::size_t pending_messages = 0;
};

/** The connection ladder of gossip-first NAT traversal: direct, then a coordinated punch, then a relay.

    Connecting to a peer named by id reads its record from the node's peer
    cache (`ctx.discovery().find(id)`): its address, its NAT type and its
    introducers. Then:

    1. **Direct.** Probes to its address for `direct_timeout`. A peer whose
       record says it is public (`nat_type::open`), or that answered an
       unsolicited probe before, is never punched: if it does not answer,
       it is down, and the ladder backs off. That is the mistake that held
       ant-quic's punch success at 4–7.5 %.
       Any other peer may filter what it did not ask for, and a NAT's
       filtering cannot be seen from observed addresses: so when the peer
       names an introducer, the next rung starts at once, raced against
       the direct probes, as ICE and DCUtR do (Tailscale's CallMeMaybe is
       the same idea). Whichever path answers first wins; a peer that
       filters nothing answers the direct probe one round trip in, before
       the punch has fired. A public node asks for a reversed connection
       instead (`nt_connect_back`): the target probes it, and no punch is
       needed.
    2. **Coordinated punch.** An introducer of the target (preferring a
       public one) that holds a session with it sends `nt_punch_me_now` to
       both sides, with delays chosen so both fire at one moment; each side
       sprays `punch_probes` probes at the other's observed address, and at
       predicted ports when the other is behind a symmetric NAT. Up to
       `punch_rounds` rounds within `punch_budget`.
    3. **Relay.** A public introducer of the target forwards frames between
       the two; the session lives while keepalives cross it end to end.
       When they stop, the connector fails over to another relay, and it
       keeps retrying the punch to upgrade.
    4. **Unreachable.** The whole ladder is retried after a doubling backoff.

    When both sides know they are behind symmetric NATs, the punch rung is
    skipped: no probe could match a mapping, so it would only delay the relay.

    Every node answers probes (saying the address it saw, which is how
    nodes learn their public address and NAT type), coordinates punches
    for peers it holds sessions with, and relays when it is configured to.
    It also keeps `introducers` sessions with public peers, drawn from
    discovery, so that others can reach it.

    Application messages (`send`) are acknowledged and retransmitted across
    path changes, including relay failover, and delivered once
    (`peer_message`). Every table is bounded.

    @par Parts
    This class is the ladder: one `link` per peer, stepped each `tick`, and
    the node's own address as observers report it. It composes:
    - `reliable_channel` (nat/reliable_channel.hpp), one per link: the
      numbering, retransmission and once-only delivery of `send`;
    - `introducer_pool` (nat/introducer_pool.hpp): the candidates probed
      to become introducers, and the ones not worth probing again;
    - `punch_coordinator` (nat/punch_coordinator.hpp): punches this node
      coordinates for others, as an intermediary;
    - `relay_server` (nat/relay_server.hpp): relay sessions this node
      serves for others.
    The member functions are defined in nat/impl/connector.hpp.

    Requires a discovery policy that models `meshkit::peer_cache`
    (`discovery::bootstrap_cache`): `find(id)` returning a
    `discovery::cached_peer const*`, and `peers()`. `needs_peer_cache` says
    so, and `basic_node` checks it. It also calls `record_success` and
    `record_public_reachability` when the policy has them.

    @par Events
    `link_up`, `link_down`, `connection_failed`,
    `relay_failover`, `address_observed`, `peer_message`, `contact_failed`,
    `peers_wanted`.
*/
class connector {
public:
    using messages = traversal_messages;
    using events = type_list<link_up, link_down, connection_failed, relay_failover, address_observed,
                             peer_message, messages_undelivered, contact_failed, peers_wanted>;

    /// Its run-time settings: `node_config::engine<connector>()` on a node.
    using config_type = connector_config;

    /// It reads and feeds the node's discovery policy, which must model `meshkit::peer_cache`.
    static constexpr bool needs_peer_cache = true;

    explicit connector(connector_config cfg = {})
        : cfg_(cfg), observed_(cfg.observed), pool_(cfg), coordinator_(cfg), relay_(cfg)
    {
    }

    // -- operations -------------------------------------------------------------

    /** Starts the ladder towards `peer`, whose record must be in the node's peer cache.

        @return `nat::errc::unknown_peer` when the cache has no address for
        it, `nat::errc::connection_limit` at `max_connections`; success when
        already connected or connecting.
    */
    template <class Ctx>
    std::error_code connect(Ctx& ctx, node_id const& peer);

    /** Sends `payload` to a connected (or connecting) peer; it is delivered once, or the connection fails.

        @return `nat::errc::not_connected` without a connection, `meshkit::errc::message_too_large`
        over `max_payload`, `meshkit::errc::queue_full` when `max_pending_messages`
        are unacknowledged (nothing is accepted then).
    */
    template <class Ctx>
    std::error_code send(Ctx& ctx, node_id const& peer, std::span<std::byte const> payload);

    /// The connection to `peer`, if any.
    [[nodiscard]] std::optional<connection_info> find(node_id const& peer) const
    {
        auto it = links_.find(peer);
        if (it == links_.end())
            return std::nullopt;
        return info(it->second);
    }

    /// Every connection.
    [[nodiscard]] std::vector<connection_info> connections() const
    {
        std::vector<connection_info> out;
        for (auto const& [id, l] : links_)
            out.push_back(info(l));
        return out;
    }

    [[nodiscard]] connector_stats const& stats() const noexcept { return stats_; }
    [[nodiscard]] std::size_t relay_sessions() const noexcept { return relay_.size(); }
    /// Our public address as observers report it (see `observed_address::best`).
    [[nodiscard]] std::optional<endpoint> public_address() const { return observed_.best(); }
    [[nodiscard]] nat_type own_nat() const noexcept { return announced_nat_; }

    // -- engine hooks ------------------------------------------------------------

    template <class Ctx>
    void start(Ctx& ctx);

    /// Opens a session with `address`, a public peer from discovery, to serve as an introducer.
    template <class Ctx>
    void add_candidate(Ctx& ctx, endpoint const& address);

    /// ICMP "port unreachable" from `address`: drops it as a candidate, and a connection whose path it is.
    template <class Ctx>
    void on_unreachable(Ctx& ctx, endpoint const& address);

    template <class Ctx>
    void on_message(Ctx& ctx, inbound const& in, nt_probe const& m);
    template <class Ctx>
    void on_message(Ctx& ctx, inbound const& in, nt_probe_ack const& m);
    template <class Ctx>
    void on_message(Ctx& ctx, inbound const& in, nt_keepalive const& m);
    template <class Ctx>
    void on_message(Ctx& ctx, inbound const& in, nt_punch_request const& m);
    template <class Ctx>
    void on_message(Ctx& ctx, inbound const& in, nt_punch_me_now const& m);
    template <class Ctx>
    void on_message(Ctx& ctx, inbound const& in, nt_punch_refused const& m);
    template <class Ctx>
    void on_message(Ctx& ctx, inbound const& in, nt_relay_open const& m);
    template <class Ctx>
    void on_message(Ctx& ctx, inbound const& in, nt_relay_reply const& m);
    template <class Ctx>
    void on_message(Ctx& ctx, inbound const& in, nt_relay_closed const& m);
    template <class Ctx>
    void on_message(Ctx& ctx, inbound const& in, nt_connect_back const& m);
    template <class Ctx>
    void on_message(Ctx& ctx, inbound const& in, nt_relay_frame const& m);
    template <class Ctx>
    void on_message(Ctx& ctx, inbound const& in, nt_data const& m);
    template <class Ctx>
    void on_message(Ctx& ctx, inbound const& in, nt_data_ack const& m);

    template <class Ctx>
    void on_timer(Ctx& ctx, std::uint64_t tag);

    /// A birthday probe with `token` reached one of our extra sockets from `from`: probe the peer through it.
    template <class Ctx>
    void on_birthday_hit(Ctx& ctx, endpoint const& from, std::uint64_t token);

private:
    static constexpr std::uint64_t tick_tag = 1;
    /// The ports a NAT hands out (Linux and the simulator: 1024-65535), which birthday probing sprays.
    static constexpr std::uint32_t birthday_first_port = 1024, birthday_port_span = 65536 - 1024;

    /// Where a link is on the ladder.
    enum class phase : std::uint8_t { direct, punching, relaying, established, waiting };

    /// One peer: how it is being reached, or is reached, and the messages to and from it.
    struct link {
        node_id peer;
        endpoint target;   // where direct probes go: the peer's advertised or introduced address
        endpoint path;     // the proven direct or punched path
        endpoint relay;    // the relay in use, or being asked
        endpoint intermediary;
        endpoint failed_relay; // the relay being replaced, until the new one carries a frame
        bool renewing = false; // asking our relay again after it ended the session for its quota
        time_point failed_relay_heard{};
        std::vector<endpoint> intermediaries; // asked in this pass
        std::vector<endpoint> tried_relays;
        std::vector<std::uint16_t> peer_ports;
        phase ph = phase::direct;
        link_method method = link_method::direct;
        nat_type peer_nat = nat_type::unknown;
        bool initiated = false, introducer = false, reported_up = false, upgraded = false;
        // This pass asked for (or, as the target, serves) a reversed connection; a birthday probe hit for it.
        bool reversal = false, birthday_hit = false;
        // The relay accepted the session; a frame from the peer crossed it (end to end).
        bool relay_confirmed = false, relay_verified = false;
        unsigned attempts = 0, round = 0, burst_left = 0, predicted_for_round = 0;
        time_point started{}, phase_since{}, punch_started{}, round_started{}, last_probe{}, probe_sent = time_point::min();
        time_point last_heard{}, relay_heard{}, relay_asked{}, last_relay_keepalive{}, next_upgrade{}, retry_at{};
        time_point last_keepalive{};
        duration backoff{};
        duration time_to_connect{};
        std::uint64_t nonce = 0;
        // Birthday probing in this pass (birthday_probe.hpp): its token, and our part in it: we
        // open sockets (behind the symmetric NAT), or spray `birthday_left` more random ports
        // of the peer's address, walking the port range from `birthday_next` by `birthday_stride`.
        enum class birthday_part : std::uint8_t { none, open_sockets, spray } birthday = birthday_part::none;
        std::uint64_t birthday_token = 0;
        std::size_t birthday_left = 0;
        std::uint32_t birthday_next = 0, birthday_stride = 1;
        // Direct probes carry their own nonce, beside the punch's.
        std::uint64_t direct_nonce = 0;
        // When this side's punch burst fires (or fired) in this pass: probes that arrive
        // later came through the hole it made, which our answers say (`nt_probe_ack::after_punch`).
        time_point direct_until{}, last_direct_probe{}, fire_at = time_point::max();
        membership::rtt_estimator rtt;
        reliable_channel channel;
    };

    static bool established(link const& l) noexcept
    {
        return !l.path.is_unspecified() || (l.ph == phase::relaying && l.relay_confirmed && l.relay_verified);
    }

    template <class Ctx>
    static std::uint64_t fresh_nonce(Ctx& ctx)
    {
        return ctx.rng()() | 1;
    }

    connection_info info(link const& l) const
    {
        return connection_info{l.peer,       l.method, established(l), l.initiated, l.upgraded, l.attempts,
                               l.time_to_connect, l.path, l.relay_confirmed ? l.relay : endpoint{}, l.peer_nat,
                               l.channel.pending()};
    }

    /// Whether `address` is the proven path of one of our connections: a peer we hold a session with.
    bool is_session(endpoint const& address) const
    {
        for (auto const& [id, l] : links_)
            if (l.path == address)
                return true;
        return false;
    }

    // -- links and the ladder (impl/connector.hpp) ------------------------------------

    template <class Ctx>
    link& add_link(Ctx& ctx, node_id const& peer);
    template <class Ctx>
    void begin_direct(Ctx& ctx, link& l);
    template <class Ctx>
    void probe(Ctx& ctx, link& l, endpoint const& to, std::uint64_t nonce);
    template <class Ctx>
    void probe_direct(Ctx& ctx, link& l, time_point now, bool first = false);
    template <class Ctx>
    bool races(Ctx& ctx, link const& l);
    template <class Ctx>
    void race(Ctx& ctx, link& l);
    template <class Ctx>
    void begin_punch(Ctx& ctx, link& l);
    template <class Ctx>
    void request_round(Ctx& ctx, link& l);
    template <class Ctx>
    std::optional<endpoint> pick_introducer(Ctx& ctx, node_id const& peer, std::vector<endpoint> const& tried);
    template <class Ctx>
    bool is_public(Ctx& ctx, endpoint const& address);
    template <class Ctx>
    duration rtt_to(Ctx& ctx, endpoint const& address);
    template <class Ctx>
    void schedule_fire(Ctx& ctx, link& l, std::uint32_t fire_in_us);
    template <class Ctx>
    void burst(Ctx& ctx, link& l);
    template <class Ctx>
    void send_own_prediction(Ctx& ctx, link& l, endpoint const& intermediary, std::uint8_t round);
    void plan_birthday(link& l, nt_punch_me_now const& m);
    template <class Ctx>
    void start_birthday(Ctx& ctx, link& l);
    template <class Ctx>
    void spray(Ctx& ctx, link& l);
    template <class Ctx>
    void begin_relay(Ctx& ctx, link& l);
    template <class Ctx>
    void fail_pass(Ctx& ctx, link& l);
    template <class Ctx>
    void establish(Ctx& ctx, link& l, endpoint const& path, link_method method);
    template <class Ctx>
    void establish_relayed(Ctx& ctx, link& l);
    template <class Ctx>
    void count(Ctx& ctx, link_method m);
    template <class Ctx>
    void announce_up(Ctx& ctx, link& l);

    // -- introducers and our own address -----------------------------------------------

    punch_coordinator::party party_of(node_id const& id) const;
    std::size_t introducer_sessions() const;
    /// Whether no connection works: then the requests for introducers back off.
    bool isolated() const;
    template <class Ctx>
    void adopt_introducer(Ctx& ctx, node_id const& id, endpoint const& address, duration rtt);
    template <class Ctx>
    void note_public(Ctx& ctx, node_id const& id, endpoint const& address, duration rtt);
    template <class Ctx>
    void observe(Ctx& ctx, node_id const& observer, endpoint const& observer_address, endpoint const& seen);
    template <class Ctx>
    void publish_self(Ctx& ctx);

    // -- reliable messages over the link's path ------------------------------------------

    template <class Ctx>
    auto data_sender(Ctx& ctx, link& l);
    template <class Ctx>
    void send_frame(Ctx& ctx, link& l, frame_kind kind, std::uint64_t seq, std::span<std::byte const> payload);
    template <class Ctx>
    bool deliver(Ctx& ctx, link& l, std::uint64_t session, std::uint64_t seq, std::vector<std::byte> const& payload);
    void acknowledge(link& l, std::uint64_t session, std::uint64_t seq);
    template <class Ctx>
    void retransmit(Ctx& ctx, link& l, time_point now);

    // -- the clock ----------------------------------------------------------------------

    template <class Ctx>
    void tick(Ctx& ctx);
    template <class Ctx>
    bool step(Ctx& ctx, link& l, time_point now);
    template <class Ctx>
    bool step_relayed(Ctx& ctx, link& l, time_point now);

    connector_config cfg_;
    observed_address observed_;
    std::map<node_id, link> links_;
    introducer_pool pool_;
    punch_coordinator coordinator_;
    relay_server relay_;
    std::map<std::uint64_t, node_id> fires_; // punch timers: tag -> peer
    std::uint64_t next_fire_tag_ = 2;
    std::uint64_t ticks_ = 0;
    endpoint announced_address_;
    nat_type announced_nat_ = nat_type::unknown;
    std::vector<endpoint> announced_introducers_;
    connector_stats stats_;
};

} // namespace meshkit::nat

#include <meshkit/nat/impl/connector.hpp>

#endif // MESHKIT_NAT_CONNECTOR_HPP

// security/secure_transport.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_SECURITY_SECURE_TRANSPORT_HPP
#define MESHKIT_SECURITY_SECURE_TRANSPORT_HPP

#include <meshkit/concepts/transport.hpp>
#include <meshkit/detail/hash.hpp>
#include <meshkit/detail/rng.hpp>
#include <meshkit/birthday_probe.hpp>
#include <meshkit/endpoint.hpp>
#include <meshkit/error.hpp>
#include <meshkit/node_id.hpp>
#include <meshkit/security/detail/random_key.hpp>
#include <meshkit/security/error.hpp>
#include <meshkit/security/noise/handshake.hpp>
#include <meshkit/security/replay_window.hpp>
#include <meshkit/security/secure_config.hpp>
#include <meshkit/security/secure_stats.hpp>
#include <meshkit/security/signing_key.hpp>
#include <meshkit/time.hpp>
#include <meshkit/transport_protocol.hpp>

#include <sodium.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <functional>
#include <optional>
#include <span>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <vector>

namespace meshkit::security {

/** The frames a `secure_transport` puts in a datagram; the first byte says which.

    Sizes are fixed so that before a peer is authenticated no reply is
    larger than the datagram that caused it: the first handshake message is
    padded to 145 bytes, its answer is 129, a cookie reply 17.
*/
namespace frame {
inline constexpr std::uint8_t init = 0x01;     ///< Noise message 1 (-> e), a cookie field and padding.
inline constexpr std::uint8_t response = 0x02; ///< Noise message 2 (<- e, ee, s, es), payload: the responder's id.
inline constexpr std::uint8_t finish = 0x03;   ///< Noise message 3 (-> s, se), payload: the initiator's id.
inline constexpr std::uint8_t data = 0x04;     ///< counter (u64, little-endian), then the sealed datagram.
inline constexpr std::uint8_t cookie = 0x05;   ///< a cookie the initiator must echo in its next init, under load.
inline constexpr std::uint8_t group = 0x06;    ///< an unsealed datagram to a LAN multicast group (self-signed kinds only).

inline constexpr std::size_t cookie_size = 16;
inline constexpr std::size_t init_padding = 96;
inline constexpr std::size_t id_payload = 32;
inline constexpr std::size_t init_size = 1 + cookie_size + noise::xx_handshake::message_size(0, init_padding);
inline constexpr std::size_t response_size = 1 + noise::xx_handshake::message_size(1, id_payload);
inline constexpr std::size_t finish_size = 1 + noise::xx_handshake::message_size(2, id_payload);
inline constexpr std::size_t cookie_reply_size = 1 + cookie_size;
inline constexpr std::size_t data_header = 1 + 8;
/// What sealing adds to a datagram: the data header and the tag.
inline constexpr std::size_t data_overhead = data_header + noise::tag_size;

static_assert(response_size <= init_size && cookie_reply_size <= init_size,
              "no reply to an unauthenticated init may be larger than the init");
} // namespace frame

/** Encrypted, authenticated sessions over any datagram transport: a transport policy.

    `secure_transport<udp::transport>` is a `meshkit::transport` like the
    one it wraps, so a node becomes secure by changing one policy:

    @code
    struct my_policies : meshkit::udp_policies {
        using transport = meshkit::security::secure_transport<meshkit::udp::transport>;
    };
    @endcode

    The first datagram to an address starts a Noise XX handshake
    (`Noise_XX_25519_ChaChaPoly_SHA256`, prologue `meshkit-secure/1`), and
    what is sent meanwhile waits in a bounded queue. Each side's static key
    is its node key's X25519 form, and each sends its node id (its Ed25519
    public key) as its handshake payload; a receiver checks that the id
    maps to the static key the handshake proved. So a completed session
    names its peer's node id (`authenticated_peer`), and `basic_node` drops
    a message whose envelope claims another sender. Where the caller knows
    which node should be at an address (`expect_peer`), a handshake with
    anyone else fails.

    Every datagram then carries its counter; the receiver keeps a
    2,048-counter replay window (as WireGuard does), so a datagram is
    accepted once, out of order or not. A session rekeys (a fresh
    handshake, fresh keys) after `rekey_after_time` or
    `rekey_after_messages`, and after `silence_rehandshake` of sending
    into silence (the peer may have restarted and lost its keys).

    Abuse limits: a first handshake message is padded so that no reply to
    it is larger; handshakes are rate-limited per source IP (token bucket);
    with more than `max_half_open` handshakes waiting for their third
    message, a new one must first echo a cookie bound to its source address
    (as WireGuard's cookie reply and QUIC's Retry do), so a flood from
    spoofed sources creates no state at all. Every table is bounded; every
    refusal is counted in `stats()`.

    Keys: the node gives the transport its key with `use_identity`
    (`basic_node` does, at construction, and its id is then the key's
    public half). Randomness for ephemeral keys comes from the operating
    system, or on a deterministic transport (the simulator) from the seed
    given there, so a simulated run replays bit for bit.

    LAN multicast (`join_group`, when the inner transport has it): a
    group has no pairwise session, so a datagram to the joined group goes
    unsealed, in a `group` frame, and one received in such a frame is
    handed up with `received_unsealed()` true. `basic_node` then takes only
    message kinds that sign themselves (`wire::is_self_signed`, such as the
    hierarchy's beacons) from it. See docs/security.md.

    @par Thread safety
    <em>Distinct objects</em>: Safe. <em>Shared objects</em>: Unsafe, as the inner transport.
*/
template <transport Inner>
class secure_transport {
public:
    using inner_type = Inner;

    /// Builds the inner transport from the same arguments (`(io_context, endpoint)`, `(sim::network, endpoint)`).
    template <class Env>
        requires std::constructible_from<Inner, Env&, endpoint const&>
    secure_transport(Env& env, endpoint const& at) : secure_transport(env, at, secure_config{})
    {
    }

    template <class Env>
        requires std::constructible_from<Inner, Env&, endpoint const&>
    secure_transport(Env& env, endpoint const& at, secure_config const& cfg) : inner_(env, at), cfg_(cfg)
    {
        cfg_.validate();
        inner_.on_receive([this](endpoint const& from, std::span<std::byte const> d) { on_datagram(from, d); });
    }

    secure_transport(secure_transport const&) = delete;
    secure_transport& operator=(secure_transport const&) = delete;

    /** Gives the transport the node's key, its clock and (for a deterministic inner transport) its seed.

        Before this, `send` refuses with `std::errc::operation_not_permitted`
        and arriving datagrams are dropped.
    */
    void use_identity(signing_key const& key, std::function<time_point()> now, std::uint64_t seed)
    {
        key_.emplace(key);
        static_secret_ = key.x25519_secret();
        now_ = std::move(now);
        rng_ = ::meshkit::detail::rng{::meshkit::detail::hash_combine(seed, 0x7365637572650000ull)};
        cookie_secret_ = draw_key();
        previous_cookie_secret_ = draw_key();
        cookie_rotated_ = now_();
    }

    /** Replaces the limits (before any traffic: sessions already held keep running under the new limits).

        @throws std::invalid_argument if `cfg` fails `secure_config::validate()`.
    */
    void set_config(secure_config const& cfg)
    {
        cfg.validate();
        cfg_ = cfg;
    }

    /// Whether datagrams are authenticated (false only in the debugging `plaintext` mode).
    [[nodiscard]] bool authenticates() const noexcept { return !cfg_.plaintext; }

    [[nodiscard]] endpoint local_endpoint() const { return inner_.local_endpoint(); }

    /// The inner transport's limit less a data frame's overhead (25 bytes).
    [[nodiscard]] std::size_t max_datagram_size() const noexcept
    {
        std::size_t const inner = inner_.max_datagram_size();
        if (cfg_.plaintext)
            return inner;
        return inner > frame::data_overhead ? inner - frame::data_overhead : 0;
    }

    void on_receive(receive_handler h) { handler_ = std::move(h); }

    /** Seals `bytes` for `to`: at once in an established session, else queued while a handshake completes.

        @return `errc::message_too_large` above `max_datagram_size()`;
        `security::errc::queue_full` when `queue_per_peer` datagrams already
        wait for `to`'s handshake; the inner transport's error. Success
        means sent or queued (datagram semantics: never "delivered").
    */
    std::error_code send(endpoint const& to, std::span<std::byte const> bytes)
    {
        if (cfg_.plaintext)
            return inner_.send(to, bytes);
        if (!key_)
            return make_error_code(std::errc::operation_not_permitted);
        if (bytes.size() > max_datagram_size())
            return ::meshkit::errc::message_too_large;
        if (group_ && to == *group_)
            return send_to_group(to, bytes);
        time_point const now = now_();
        rotate_cookie_secret(now);
        peer& p = peer_at(to, now);
        p.last_activity = now;
        if (p.current) {
            maintain(to, p, now);
            peer& q = peers_.at(to); // maintain may send, never inserts: still there
            return seal_and_send(to, *q.current, bytes, now);
        }
        if (p.hs && stale(p, now))
            give_up_handshake(p); // and start afresh below, with this datagram
        if (p.queued.size() >= cfg_.queue_per_peer) {
            ++stats_.queue_dropped;
            // The handshake is still resent when due: a full queue must not
            // stall it (a path that opened later, through a punch or a
            // birthday hit, would otherwise wait out `handshake_timeout`).
            if (p.hs)
                retry_handshake(to, p, now);
            return make_error_code(errc::queue_full);
        }
        p.queued.emplace_back(bytes.begin(), bytes.end());
        if (!p.hs)
            start_handshake(to, p, now);
        else
            retry_handshake(to, p, now);
        return {};
    }

    /** Says that node `id` should be at `to`: a handshake there with any other key fails (`errc::unexpected_peer`).

        An established session with another node at `to` is closed. The
        expectation lasts as long as the peer's entry.
    */
    void expect_peer(endpoint const& to, node_id const& id)
    {
        if (!key_)
            return;
        time_point const now = now_();
        peer& p = peer_at(to, now);
        p.expected = id;
        if (p.current && p.current->peer_id != id) {
            ++stats_.unexpected_peers;
            p.current.reset();
            p.previous.reset();
        }
    }

    /** The node id proven by the session at `from`, if there is one.

        `basic_node` asks this inside the receive handler, for the datagram
        it is handling, to check the envelope's sender.
    */
    [[nodiscard]] std::optional<node_id> authenticated_peer(endpoint const& from) const
    {
        auto it = peers_.find(from);
        if (it == peers_.end() || !it->second.current)
            return std::nullopt;
        return it->second.current->peer_id;
    }

    /** Joins LAN multicast group `group` on the inner transport: datagrams to it go unsealed (see above).

        @throws what the inner transport's `join_group` throws.
    */
    template <class... Args>
        requires requires(Inner& i, endpoint const& g, Args&&... a) { i.join_group(g, std::forward<Args>(a)...); }
    void join_group(endpoint const& group, Args&&... args)
    {
        inner_.join_group(group, std::forward<Args>(args)...);
        group_ = group;
    }

    /** Whether the datagram being handled came unsealed, from a LAN group: it proves no sender.

        Valid inside the receive handler, for the datagram it is handling.
    */
    [[nodiscard]] bool received_unsealed() const noexcept { return receiving_unsealed_; }

    /// How many peers the transport holds state for (sessions and handshakes).
    [[nodiscard]] std::size_t peer_count() const noexcept { return peers_.size(); }
    /// How many responder handshakes wait for their third message.
    [[nodiscard]] std::size_t half_open() const noexcept { return half_open_; }

    [[nodiscard]] secure_stats const& stats() const noexcept { return stats_; }
    [[nodiscard]] secure_config const& config() const noexcept { return cfg_; }

    /// The wrapped transport (Asio and Beast call this the next layer).
    [[nodiscard]] Inner& next_layer() noexcept { return inner_; }
    [[nodiscard]] Inner const& next_layer() const noexcept { return inner_; }

    /// Addresses are the inner transport's.
    static constexpr transport_protocol protocol = [] {
        if constexpr (requires { Inner::protocol; })
            return Inner::protocol;
        else
            return transport_protocol::udp;
    }();

    /// Deterministic when the inner transport is (the simulator): then keys come from the seed.
    static constexpr bool deterministic = ::meshkit::detail::is_deterministic<Inner>;

    /// Forwards socket errors from the inner transport (ICMP unreachable and others).
    template <class H>
        requires requires(Inner& i, H h) { i.on_error(std::move(h)); }
    void on_error(H h)
    {
        inner_.on_error(std::move(h));
    }

    /** Birthday probing passes through: its datagrams are below every session (birthday_probe.hpp).

        A session with a peer found this way is made over the extra socket
        the inner transport routes that peer through, like any other.
    */
    std::size_t open_birthday_sockets(endpoint const& to, std::uint64_t token, std::size_t count)
        requires requires(Inner& i) { i.open_birthday_sockets(to, token, count); }
    {
        return inner_.open_birthday_sockets(to, token, count);
    }
    std::error_code send_birthday_probe(endpoint const& to, std::uint64_t token)
        requires requires(Inner& i) { i.send_birthday_probe(to, token); }
    {
        return inner_.send_birthday_probe(to, token);
    }
    void on_birthday_hit(birthday_hit_handler h)
        requires requires(Inner& i) { i.on_birthday_hit(std::move(h)); }
    {
        inner_.on_birthday_hit(std::move(h));
    }

    /// A simulated host restart: its sessions died with it, then `fn` runs.
    void on_restart(std::function<void()> fn)
        requires requires(Inner& i) { i.on_restart(std::function<void()>{}); }
    {
        inner_.on_restart([this, fn = std::move(fn)] {
            peers_.clear();
            half_open_ = 0;
            if (fn)
                fn();
        });
    }

    /** Adds what the transport counted since the last call to `sink` as `meshkit_secure_*_total`, and the inner
        transport's own counters when it keeps them.
    */
    template <class Sink>
    void report_metrics(Sink& sink)
    {
        if constexpr (requires { inner_.report_metrics(sink); })
            inner_.report_metrics(sink);
        auto add = [&](std::string_view name, std::uint64_t secure_stats::*counter) {
            sink.increment(name, stats_.*counter - reported_.*counter);
        };
        add("meshkit_secure_handshakes_initiated_total", &secure_stats::handshakes_initiated);
        add("meshkit_secure_handshakes_completed_total", &secure_stats::handshakes_completed);
        add("meshkit_secure_handshake_failures_total", &secure_stats::handshake_failures);
        add("meshkit_secure_handshake_timeouts_total", &secure_stats::handshake_timeouts);
        add("meshkit_secure_unexpected_peers_total", &secure_stats::unexpected_peers);
        add("meshkit_secure_cookies_sent_total", &secure_stats::cookies_sent);
        add("meshkit_secure_rate_limited_total", &secure_stats::rate_limited);
        add("meshkit_secure_replayed_total", &secure_stats::replayed);
        add("meshkit_secure_decrypt_failures_total", &secure_stats::decrypt_failures);
        add("meshkit_secure_no_session_total", &secure_stats::no_session);
        add("meshkit_secure_malformed_total", &secure_stats::malformed);
        add("meshkit_secure_queue_dropped_total", &secure_stats::queue_dropped);
        add("meshkit_secure_rekeys_total", &secure_stats::rekeys);
        add("meshkit_secure_evictions_total", &secure_stats::evictions);
        add("meshkit_secure_group_sent_total", &secure_stats::group_sent);
        add("meshkit_secure_group_received_total", &secure_stats::group_received);
        reported_ = stats_;
    }

private:
    using handshake = noise::xx_handshake;

    struct session {
        noise::cipher_state tx, rx;
        replay_window window;
        node_id peer_id;
        time_point established{};
        time_point last_received{};
        /// When this side began sending into silence (sent with nothing received since); unset otherwise.
        std::optional<time_point> silent_since;
        std::uint64_t next_counter = 0;
        bool initiator = false;
        /// For the initiator: whether the responder has shown it holds the session (it sent a frame in it).
        bool confirmed = false;
    };

    struct peer {
        std::optional<session> current;
        /// The session before the last rekey: frames sealed under it may still be in flight.
        std::optional<session> previous;
        std::optional<handshake> hs;
        /// The last handshake frame this side sent (init, response or finish), for resending.
        std::vector<std::byte> hs_frame;
        std::array<std::uint8_t, frame::cookie_size> cookie{};
        bool have_cookie = false;
        time_point hs_started{};
        time_point hs_sent{};
        std::deque<std::vector<std::byte>> queued;
        std::vector<std::vector<std::byte>> early;
        std::optional<node_id> expected;
        time_point last_activity{};
        /// As responder: the initiator's ephemeral key, to recognise its init when it is resent.
        std::optional<x25519_key> remote_init_e;
        bool counted_half_open = false;
    };

    struct bucket {
        double tokens = 0;
        time_point refilled{};
    };

    // -- sending ----------------------------------------------------------

    std::error_code seal_and_send(endpoint const& to, session& s, std::span<std::byte const> bytes, time_point now)
    {
        tx_.clear();
        tx_.push_back(std::byte{frame::data});
        std::uint64_t const counter = s.next_counter++;
        for (int i = 0; i < 8; ++i)
            tx_.push_back(static_cast<std::byte>(counter >> (8 * i)));
        std::array<std::byte, frame::data_header> ad;
        std::memcpy(ad.data(), tx_.data(), ad.size());
        s.tx.encrypt_at(counter, ad, bytes, tx_);
        if (!s.silent_since)
            s.silent_since = now;
        ++stats_.datagrams_sealed;
        return inner_.send(to, tx_);
    }

    /// Session upkeep on each send: resend an unconfirmed finish, rekey when due, give up on a stuck handshake.
    void maintain(endpoint const& to, peer& p, time_point now)
    {
        session& s = *p.current;
        if (s.initiator && !s.confirmed && !p.hs && !p.hs_frame.empty() && now - p.hs_sent >= cfg_.handshake_retry)
            resend(to, p, now); // our finish may have been lost: the responder cannot read us without it
        if (p.hs) {
            retry_handshake(to, p, now);
            return;
        }
        bool const old = now - s.established >= cfg_.rekey_after_time;
        bool const worn = s.next_counter >= cfg_.rekey_after_messages;
        bool const unanswered = s.silent_since && now - *s.silent_since >= cfg_.silence_rehandshake;
        if (old || worn || unanswered) {
            ++stats_.rekeys;
            start_handshake(to, p, now);
        }
    }

    void start_handshake(endpoint const& to, peer& p, time_point now)
    {
        if (p.counted_half_open) {
            p.counted_half_open = false;
            --half_open_;
        }
        p.hs.emplace(handshake::role::initiator, static_secret_, prologue(), draw_key());
        p.hs_started = now;
        std::array<std::byte, frame::init_padding> padding{};
        hs_out_.clear();
        (void)p.hs->write_message(padding, hs_out_);
        p.hs_frame.clear();
        p.hs_frame.push_back(std::byte{frame::init});
        p.hs_frame.insert(p.hs_frame.end(), frame::cookie_size, std::byte{0});
        p.hs_frame.insert(p.hs_frame.end(), hs_out_.begin(), hs_out_.end());
        p.have_cookie = false;
        ++stats_.handshakes_initiated;
        resend(to, p, now);
    }

    /// Resends the pending handshake frame if it went unanswered for `handshake_retry`; abandons it after the timeout.
    [[nodiscard]] bool stale(peer const& p, time_point now) const { return now - p.hs_started >= cfg_.handshake_timeout; }

    /// A handshake that took longer than `handshake_timeout`: it goes, with what waited for it.
    void give_up_handshake(peer& p)
    {
        ++stats_.handshake_timeouts;
        stats_.queue_dropped += p.queued.size();
        p.queued.clear();
        abandon_handshake(p);
    }

    void retry_handshake(endpoint const& to, peer& p, time_point now)
    {
        if (stale(p, now)) {
            give_up_handshake(p);
            return;
        }
        if (p.hs->our_role() == handshake::role::initiator && now - p.hs_sent >= cfg_.handshake_retry)
            resend(to, p, now);
    }

    void resend(endpoint const& to, peer& p, time_point now)
    {
        if (p.have_cookie && !p.hs_frame.empty() && p.hs_frame[0] == std::byte{frame::init})
            std::memcpy(p.hs_frame.data() + 1, p.cookie.data(), frame::cookie_size);
        p.hs_sent = now;
        stats_.handshake_bytes_out += p.hs_frame.size();
        (void)inner_.send(to, p.hs_frame);
    }

    void abandon_handshake(peer& p)
    {
        if (p.counted_half_open) {
            p.counted_half_open = false;
            --half_open_;
        }
        p.hs.reset();
        p.hs_frame.clear();
        p.early.clear();
    }

    // -- receiving --------------------------------------------------------

    void on_datagram(endpoint const& from, std::span<std::byte const> d)
    {
        if (cfg_.plaintext) {
            if (handler_)
                handler_(from, d);
            return;
        }
        if (!key_ || d.empty())
            return;
        time_point const now = now_();
        rotate_cookie_secret(now);
        switch (static_cast<std::uint8_t>(d[0])) {
        case frame::data: on_data(from, d, now); break;
        case frame::init: on_init(from, d, now); break;
        case frame::response: on_response(from, d, now); break;
        case frame::finish: on_finish(from, d, now); break;
        case frame::cookie: on_cookie(from, d, now); break;
        case frame::group: on_group(from, d); break;
        default: ++stats_.malformed; break;
        }
    }

    /// Unsealed, and taken only by a member of a group: `basic_node` then passes self-signed kinds alone.
    void on_group(endpoint const& from, std::span<std::byte const> d)
    {
        if (!group_ || d.size() < 2) {
            ++stats_.malformed;
            return;
        }
        ++stats_.group_received;
        if (!handler_)
            return;
        receiving_unsealed_ = true;
        handler_(from, d.subspan(1));
        receiving_unsealed_ = false;
    }

    std::error_code send_to_group(endpoint const& to, std::span<std::byte const> bytes)
    {
        tx_.assign(1, std::byte{frame::group});
        tx_.insert(tx_.end(), bytes.begin(), bytes.end());
        ++stats_.group_sent;
        return inner_.send(to, tx_);
    }

    void on_init(endpoint const& from, std::span<std::byte const> d, time_point now)
    {
        if (d.size() != frame::init_size) {
            ++stats_.malformed;
            return;
        }
        stats_.handshake_bytes_in += d.size();
        auto const msg = d.subspan(1 + frame::cookie_size);
        auto it = peers_.find(from);
        if (it != peers_.end() && it->second.hs && it->second.hs->our_role() == handshake::role::responder &&
            it->second.hs->next_message() == 2 && same_ephemeral(it->second, msg)) {
            // Our response was lost: the same answer again, no larger than the init that asked.
            resend(from, it->second, now);
            return;
        }
        if (half_open_ >= cfg_.max_half_open)
            expire_half_open(now);
        if (half_open_ >= cfg_.max_half_open) {
            auto const expected = cookie_for(from, msg, cookie_secret_);
            auto const previous = cookie_for(from, msg, previous_cookie_secret_);
            auto const echoed = d.subspan(1, frame::cookie_size);
            bool const valid = sodium_memcmp(echoed.data(), expected.data(), frame::cookie_size) == 0 ||
                               sodium_memcmp(echoed.data(), previous.data(), frame::cookie_size) == 0;
            if (!valid) {
                // Under load: prove you receive at that address before we hold anything for you. The
                // reply is 17 bytes for a 145-byte init, and creates no state.
                std::array<std::byte, frame::cookie_reply_size> reply;
                reply[0] = std::byte{frame::cookie};
                std::memcpy(reply.data() + 1, expected.data(), frame::cookie_size);
                ++stats_.cookies_sent;
                stats_.handshake_bytes_out += reply.size();
                (void)inner_.send(from, reply);
                return;
            }
        }
        // Rate-limited per source only now: a spoofed source never gets this far under load.
        if (!allow_handshake(from, now)) {
            ++stats_.rate_limited;
            return;
        }
        it = peers_.find(from); // expire_half_open may have erased entries
        handshake hs(handshake::role::responder, static_secret_, prologue(), draw_key());
        rx_.clear();
        if (hs.read_message(msg, rx_)) {
            ++stats_.handshake_failures;
            return;
        }
        if (it != peers_.end() && it->second.hs && it->second.hs->our_role() == handshake::role::initiator &&
            !stale(it->second, now) &&
            std::memcmp(it->second.hs->local_ephemeral().data(), msg.data(), noise::dh_size) > 0) {
            // Both sides started at once: the larger ephemeral key stays initiator, and that is us. Their
            // init got through, so ours may now (a punched path opens both ways): send it again at once,
            // no larger than what came in.
            resend(from, it->second, now);
            return;
        }
        peer& p = peer_at(from, now);
        abandon_handshake(p);
        hs_out_.clear();
        if (hs.write_message(id_payload(), hs_out_)) {
            ++stats_.handshake_failures;
            return;
        }
        p.hs.emplace(std::move(hs));
        p.remote_init_e.emplace();
        std::memcpy(p.remote_init_e->data(), msg.data(), noise::dh_size);
        p.hs_started = now;
        p.hs_frame.assign(1, std::byte{frame::response});
        p.hs_frame.insert(p.hs_frame.end(), hs_out_.begin(), hs_out_.end());
        p.counted_half_open = true;
        ++half_open_;
        p.last_activity = now;
        resend(from, p, now);
    }

    void on_response(endpoint const& from, std::span<std::byte const> d, time_point now)
    {
        if (d.size() != frame::response_size) {
            ++stats_.malformed;
            return;
        }
        peer* const waiting = awaiting(from, handshake::role::initiator, 1); // else a stray: nobody asked
        if (!waiting)
            return;
        peer& p = *waiting;
        auto read = read_handshake(p, d);
        if (!read)
            return;
        auto& [hs, id] = *read;
        if (p.expected && *p.expected != id) {
            ++stats_.unexpected_peers;
            stats_.queue_dropped += p.queued.size();
            p.queued.clear();
            abandon_handshake(p);
            return;
        }
        hs_out_.clear();
        if (hs.write_message(id_payload(), hs_out_)) {
            ++stats_.handshake_failures;
            return;
        }
        p.hs_frame.assign(1, std::byte{frame::finish});
        p.hs_frame.insert(p.hs_frame.end(), hs_out_.begin(), hs_out_.end());
        resend(from, p, now);
        establish(p, hs, id, now);
        p.hs.reset(); // the finish frame stays, for resending until confirmed
        flush_queue(from, now);
    }

    void on_finish(endpoint const& from, std::span<std::byte const> d, time_point now)
    {
        if (d.size() != frame::finish_size) {
            ++stats_.malformed;
            return;
        }
        // Else a resent finish for a session we already hold, or a stray.
        peer* const waiting = awaiting(from, handshake::role::responder, 2);
        if (!waiting)
            return;
        peer& p = *waiting;
        auto read = read_handshake(p, d);
        if (!read)
            return;
        auto const& [hs, id] = *read;
        if (p.expected && *p.expected != id) {
            ++stats_.unexpected_peers;
            abandon_handshake(p);
            return;
        }
        std::vector<std::vector<std::byte>> early = std::move(p.early);
        abandon_handshake(p);
        establish(p, hs, id, now);
        // Tell the initiator we hold the session (an empty frame: it delivers nothing), so it stops resending.
        (void)seal_and_send(from, *p.current, {}, now);
        for (auto const& f : early)
            on_data(from, f, now); // may call the handler, which may send: look the peer up afresh after
        flush_queue(from, now);
    }

    /// The peer at `from` whose handshake waits, in role `r`, for message `step`; null (a handshake failure) if none.
    peer* awaiting(endpoint const& from, handshake::role r, int step)
    {
        auto it = peers_.find(from);
        if (it == peers_.end() || !it->second.hs || it->second.hs->our_role() != r ||
            it->second.hs->next_message() != step) {
            ++stats_.handshake_failures;
            return nullptr;
        }
        return &it->second;
    }

    /** Reads handshake frame `d` into a copy of `p`'s handshake.

        @return that handshake and the node id it proved; none (a handshake
        failure, `p` untouched) when the frame fails to authenticate or
        names an id whose key is not the one proven.
    */
    std::optional<std::pair<handshake, node_id>> read_handshake(peer const& p, std::span<std::byte const> d)
    {
        stats_.handshake_bytes_in += d.size();
        handshake hs = *p.hs;
        rx_.clear();
        std::optional<node_id> id;
        if (!hs.read_message(d.subspan(1), rx_))
            id = proven_id(hs, rx_);
        if (!id) {
            ++stats_.handshake_failures;
            return std::nullopt;
        }
        return std::pair<handshake, node_id>{std::move(hs), *id};
    }

    void on_cookie(endpoint const& from, std::span<std::byte const> d, time_point now)
    {
        if (d.size() != frame::cookie_reply_size) {
            ++stats_.malformed;
            return;
        }
        auto it = peers_.find(from);
        if (it == peers_.end() || !it->second.hs || it->second.hs->our_role() != handshake::role::initiator ||
            it->second.hs->next_message() != 1)
            return;
        stats_.handshake_bytes_in += d.size();
        peer& p = it->second;
        bool const changed = std::memcmp(p.cookie.data(), d.data() + 1, frame::cookie_size) != 0 || !p.have_cookie;
        std::memcpy(p.cookie.data(), d.data() + 1, frame::cookie_size);
        p.have_cookie = true;
        // Resend with the cookie at once, but only for a new one: a forged cookie reply cannot make us repeat ourselves.
        if (changed)
            resend(from, p, now);
    }

    void on_data(endpoint const& from, std::span<std::byte const> d, time_point now)
    {
        if (d.size() < frame::data_overhead) {
            ++stats_.malformed;
            return;
        }
        auto it = peers_.find(from);
        if (it == peers_.end() || !it->second.current) {
            if (it != peers_.end() && it->second.hs && it->second.hs->our_role() == handshake::role::responder &&
                it->second.early.size() < cfg_.early_per_peer) {
                // Reordered ahead of the finish: keep it for when the finish arrives.
                it->second.early.emplace_back(d.begin(), d.end());
                return;
            }
            ++stats_.no_session;
            return;
        }
        std::uint64_t counter = 0;
        for (int i = 0; i < 8; ++i)
            counter |= std::uint64_t{static_cast<std::uint8_t>(d[1 + static_cast<std::size_t>(i)])} << (8 * i);
        auto const ad = d.first(frame::data_header);
        auto const sealed = d.subspan(frame::data_header);
        peer& p = it->second;
        session* s = nullptr;
        rx_.clear();
        bool stale = false;
        for (auto* candidate : {&p.current, &p.previous}) {
            if (!*candidate)
                continue;
            if (!(*candidate)->window.fresh(counter)) {
                stale = true;
                continue;
            }
            if ((*candidate)->rx.decrypt_at(counter, ad, sealed, rx_)) {
                s = &**candidate;
                break;
            }
        }
        if (!s) {
            ++(stale ? stats_.replayed : stats_.decrypt_failures);
            return;
        }
        s->window.accept(counter);
        s->last_received = now;
        s->silent_since.reset();
        if (s->initiator && !s->confirmed) {
            s->confirmed = true;
            if (s == &*p.current)
                p.hs_frame.clear(); // the responder has our finish
        }
        p.last_activity = now;
        ++stats_.datagrams_opened;
        if (!rx_.empty() && handler_) {
            std::vector<std::byte> const plaintext = std::move(rx_); // the handler may send, which reuses buffers
            rx_.clear();
            handler_(from, plaintext);
        }
    }

    // -- sessions -----------------------------------------------------------

    void establish(peer& p, handshake const& hs, node_id const& id, time_point now)
    {
        auto [tx, rx] = hs.split();
        if (p.current)
            p.previous = std::move(p.current);
        session& s = p.current.emplace();
        s.tx = tx;
        s.rx = rx;
        s.peer_id = id;
        s.established = now;
        s.last_received = now;
        s.initiator = hs.our_role() == handshake::role::initiator;
        s.confirmed = !s.initiator;
        ++stats_.handshakes_completed;
    }

    void flush_queue(endpoint const& to, time_point now)
    {
        auto it = peers_.find(to);
        if (it == peers_.end() || !it->second.current)
            return;
        std::deque<std::vector<std::byte>> queued = std::move(it->second.queued);
        it->second.queued.clear();
        for (auto const& q : queued) {
            auto again = peers_.find(to);
            if (again == peers_.end() || !again->second.current)
                break;
            (void)seal_and_send(to, *again->second.current, q, now);
        }
    }

    /// The node id a completed handshake proved: its payload, if that id's X25519 form is the proven static key.
    static std::optional<node_id> proven_id(handshake const& hs, std::vector<std::byte> const& payload)
    {
        if (payload.size() != frame::id_payload)
            return std::nullopt;
        node_id id;
        std::memcpy(id.bytes.data(), payload.data(), frame::id_payload);
        auto const x = x25519_public_of(id);
        if (!x || sodium_memcmp(x->data(), hs.remote_static().data(), x->size()) != 0)
            return std::nullopt;
        return id;
    }

    static bool same_ephemeral(peer const& p, std::span<std::byte const> msg)
    {
        // The responder keeps its own frame, not the init: compare the ephemeral key the init carried.
        return p.remote_init_e && std::memcmp(p.remote_init_e->data(), msg.data(), noise::dh_size) == 0;
    }

    // -- tables ---------------------------------------------------------------

    /// The entry for `to`, made if missing; when full, the least recently active peer is evicted first.
    peer& peer_at(endpoint const& to, time_point now)
    {
        auto it = peers_.find(to);
        if (it != peers_.end())
            return it->second;
        if (peers_.size() >= cfg_.max_peers) {
            auto victim = std::min_element(peers_.begin(), peers_.end(), [](auto const& a, auto const& b) {
                return a.second.last_activity < b.second.last_activity;
            });
            if (victim->second.counted_half_open)
                --half_open_;
            stats_.queue_dropped += victim->second.queued.size();
            peers_.erase(victim);
            ++stats_.evictions;
        }
        peer& p = peers_[to];
        p.last_activity = now;
        return p;
    }

    /// Abandons responder handshakes older than `handshake_timeout` (at most once per `handshake_retry`).
    void expire_half_open(time_point now)
    {
        if (now - last_expiry_ < cfg_.handshake_retry)
            return;
        last_expiry_ = now;
        for (auto it = peers_.begin(); it != peers_.end();) {
            peer& p = it->second;
            if (!p.counted_half_open || now - p.hs_started < cfg_.handshake_timeout) {
                ++it;
                continue;
            }
            abandon_handshake(p);
            if (!p.current && p.queued.empty())
                it = peers_.erase(it);
            else
                ++it;
        }
    }

    /// Takes a token from the source IP's bucket; false when it has none.
    bool allow_handshake(endpoint const& from, time_point now)
    {
        std::array<std::uint8_t, 16> key = from.ip;
        if (!from.is_v4())
            std::fill(key.begin() + 8, key.end(), std::uint8_t{0}); // one IPv6 host is a /64
        auto it = buckets_.find(key);
        if (it == buckets_.end()) {
            if (buckets_.size() >= cfg_.rate_table_size) {
                // Forget the sources that are back to a full bucket: they lose nothing by it. If none
                // is, forget one anyway: a reset limiter is a milder failure than refusing newcomers.
                std::erase_if(buckets_, [&](auto const& kv) { return refill(kv.second, now) >= cfg_.handshake_burst; });
                if (buckets_.size() >= cfg_.rate_table_size)
                    buckets_.erase(buckets_.begin());
            }
            it = buckets_.emplace(key, bucket{cfg_.handshake_burst, now}).first;
        }
        bucket& b = it->second;
        b.tokens = refill(b, now);
        b.refilled = now;
        if (b.tokens < 1)
            return false;
        b.tokens -= 1;
        return true;
    }

    [[nodiscard]] double refill(bucket const& b, time_point now) const
    {
        double const seconds = std::chrono::duration<double>(now - b.refilled).count();
        return std::min(cfg_.handshake_burst, b.tokens + seconds * cfg_.handshakes_per_second);
    }

    void rotate_cookie_secret(time_point now)
    {
        if (now - cookie_rotated_ < cfg_.cookie_secret_lifetime)
            return;
        previous_cookie_secret_ = cookie_secret_;
        cookie_secret_ = draw_key();
        cookie_rotated_ = now;
    }

    /// A MAC of the source address and the initiator's ephemeral key: only a sender that receives there can echo it.
    static std::array<std::uint8_t, frame::cookie_size> cookie_for(endpoint const& from, std::span<std::byte const> msg,
                                                                   x25519_key const& secret)
    {
        crypto_auth_hmacsha256_state st;
        crypto_auth_hmacsha256_init(&st, secret.data(), secret.size());
        crypto_auth_hmacsha256_update(&st, from.ip.data(), from.ip.size());
        std::uint8_t const port[2] = {static_cast<std::uint8_t>(from.port), static_cast<std::uint8_t>(from.port >> 8)};
        crypto_auth_hmacsha256_update(&st, port, 2);
        crypto_auth_hmacsha256_update(&st, reinterpret_cast<unsigned char const*>(msg.data()), noise::dh_size);
        std::array<std::uint8_t, 32> mac;
        crypto_auth_hmacsha256_final(&st, mac.data());
        std::array<std::uint8_t, frame::cookie_size> out;
        std::memcpy(out.data(), mac.data(), out.size());
        return out;
    }

    std::span<std::byte const> id_payload() const { return std::as_bytes(std::span(key_->id().bytes)); }

    static std::span<std::byte const> prologue() noexcept
    {
        static constexpr std::string_view p = "meshkit-secure/1";
        return std::as_bytes(std::span(p.data(), p.size()));
    }

    /// 32 random bytes: from the seed on a deterministic transport, else from the operating system.
    x25519_key draw_key()
    {
        return detail::random_key<deterministic>(rng_);
    }

    Inner inner_;
    secure_config cfg_;
    std::optional<signing_key> key_;
    x25519_key static_secret_{};
    std::function<time_point()> now_;
    ::meshkit::detail::rng rng_{0};
    receive_handler handler_;
    std::unordered_map<endpoint, peer> peers_;
    std::size_t half_open_ = 0;
    time_point last_expiry_{};
    /// The LAN group joined, if any: datagrams to it go unsealed, and only its members take `group` frames.
    std::optional<endpoint> group_;
    bool receiving_unsealed_ = false;
    struct ip_hash {
        std::size_t operator()(std::array<std::uint8_t, 16> const& ip) const noexcept
        {
            std::uint64_t a, b;
            std::memcpy(&a, ip.data(), 8);
            std::memcpy(&b, ip.data() + 8, 8);
            return static_cast<std::size_t>(::meshkit::detail::hash_combine(a, b));
        }
    };
    std::unordered_map<std::array<std::uint8_t, 16>, bucket, ip_hash> buckets_;
    x25519_key cookie_secret_{}, previous_cookie_secret_{};
    time_point cookie_rotated_{};
    secure_stats stats_;
    secure_stats reported_;
    std::vector<std::byte> tx_, rx_, hs_out_;
};

} // namespace meshkit::security

#endif // MESHKIT_SECURITY_SECURE_TRANSPORT_HPP

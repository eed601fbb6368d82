// security/secure_stream_transport.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_SECURITY_SECURE_STREAM_TRANSPORT_HPP
#define MESHKIT_SECURITY_SECURE_STREAM_TRANSPORT_HPP

#include <meshkit/concepts/stream_transport.hpp>
#include <meshkit/detail/hash.hpp>
#include <meshkit/detail/rng.hpp>
#include <meshkit/endpoint.hpp>
#include <meshkit/node_id.hpp>
#include <meshkit/security/detail/random_key.hpp>
#include <meshkit/security/error.hpp>
#include <meshkit/security/noise/cipher_state.hpp>
#include <meshkit/security/noise/handshake.hpp>
#include <meshkit/security/secure_stats.hpp>
#include <meshkit/security/signing_key.hpp>
#include <meshkit/stream_error.hpp>
#include <meshkit/stream_events.hpp>
#include <meshkit/time.hpp>
#include <meshkit/transport_protocol.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string_view>
#include <system_error>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

namespace meshkit::security {

/** The stream counterpart of `secure_transport`: Noise XX on every stream, then every frame sealed.

    Wraps any `stream_transport`. A stream opens as usual underneath; its
    first three frames are the handshake (`Noise_XX_25519_ChaChaPoly_SHA256`,
    prologue `meshkit-secure-stream/1`, each side's payload its node id,
    checked against the key it proved), and only then does the node hear
    `stream_connected`. Every later frame is ChaCha20-Poly1305 under the
    session's keys at an implicit nonce: a stream is ordered and reliable,
    so a counter on the wire (and a replay window) would only cost bytes. A
    frame that fails to authenticate closes the stream: a stream cannot
    skip a frame. A handshake with any other key than `expect_peer` named
    fails (`unexpected_peer`).

    Bounds: at most `max_pending_handshakes` (64) streams wait for their
    handshake (an inbound one beyond is closed unheard), each for at most
    `handshake_timeout` (10 s, checked as events arrive). Before the
    handshake the responder's only reply (96 + 48 bytes) answers a 32-byte
    message, but a stream's peer has completed a TCP handshake: its address
    is not spoofed.

    Until `use_identity` it passes everything through unchanged.
*/
template <stream_transport Inner>
class secure_stream_transport {
public:
    /// How long a stream may take to complete its handshake.
    static constexpr duration handshake_timeout = std::chrono::seconds(10);
    /// Streams at most waiting for their handshake.
    static constexpr std::size_t max_pending_handshakes = 64;

    static constexpr transport_protocol protocol = [] {
        if constexpr (requires { Inner::protocol; })
            return Inner::protocol;
        else
            return transport_protocol::tcp;
    }();

    /// Deterministic when the inner transport is (the simulator): then ephemeral keys come from the seed.
    static constexpr bool deterministic = ::meshkit::detail::is_deterministic<Inner>;

    template <class... Args>
    explicit secure_stream_transport(Args&&... args) : inner_(std::forward<Args>(args)...)
    {
        inner_.on_stream([this](stream_event const& e) { on_inner(e); });
    }

    secure_stream_transport(secure_stream_transport const&) = delete;
    secure_stream_transport& operator=(secure_stream_transport const&) = delete;

    /// Gives the transport the node's key, its clock and (for a deterministic inner transport) its seed.
    void use_identity(signing_key const& key, std::function<time_point()> now, std::uint64_t seed)
    {
        key_.emplace(key);
        static_secret_ = key.x25519_secret();
        now_ = std::move(now);
        rng_ = ::meshkit::detail::rng{::meshkit::detail::hash_combine(seed, 0x73747265616d0000ull)};
    }

    /// Whether streams are authenticated: once the transport has an identity, unless `set_plaintext`.
    [[nodiscard]] bool authenticates() const noexcept { return key_.has_value() && !plaintext_; }

    /** Debugging only (`meshkit-node --insecure`): streams pass through unencrypted and unauthenticated.

        Set before the first stream; such a node talks only to others in the same mode.
    */
    void set_plaintext(bool on) noexcept { plaintext_ = on; }

    [[nodiscard]] endpoint local_endpoint() const { return inner_.local_endpoint(); }
    /// The inner transport's frame limit less the 16-byte tag.
    [[nodiscard]] std::size_t max_frame_size() const
    {
        std::size_t const inner = inner_.max_frame_size();
        return authenticates() ? (inner > tag_size ? inner - tag_size : 0) : inner;
    }
    [[nodiscard]] std::size_t max_queued_bytes() const { return inner_.max_queued_bytes(); }
    [[nodiscard]] secure_stream_stats const& stats() const noexcept { return stats_; }
    [[nodiscard]] Inner& next_layer() noexcept { return inner_; }

    stream_id connect(endpoint const& to)
    {
        stream_id const id = inner_.connect(to);
        if (authenticates()) {
            session& s = streams_[id];
            s.peer = to;
            s.outbound = true;
            s.started = now_();
            if (auto it = expected_.find(to); it != expected_.end())
                s.expected = it->second;
        }
        return id;
    }

    /** Says that node `id` should answer at `to`: the next streams connected there fail their handshake with any other key.

        Bounded: beyond 4,096 expectations, one (the lowest address) is forgotten.
    */
    void expect_peer(endpoint const& to, node_id const& id)
    {
        if (!authenticates())
            return;
        if (expected_.size() >= 4096 && !expected_.contains(to))
            expected_.erase(expected_.begin());
        expected_[to] = id;
    }

    /// Seals `frame` on an established stream. @return `stream_errc::not_connected` while its handshake runs.
    std::error_code send(stream_id id, std::span<std::byte const> frame)
    {
        if (!authenticates())
            return inner_.send(id, frame);
        auto it = streams_.find(id);
        if (it == streams_.end() || !it->second.established)
            return make_error_code(stream_errc::not_connected);
        if (frame.size() > max_frame_size())
            return make_error_code(stream_errc::frame_too_large);
        sealed_.clear();
        noise::cipher_state probe = it->second.send; // sealed at the current nonce only if the inner transport takes it
        probe.encrypt_with_ad({}, frame, sealed_);
        std::error_code const ec = inner_.send(id, sealed_);
        if (!ec)
            it->second.send = probe;
        return ec;
    }

    void close(stream_id id) { inner_.close(id); }

    void on_stream(stream_handler h) { handler_ = std::move(h); }

    /// The node the stream's handshake proved, once it is established.
    [[nodiscard]] std::optional<node_id> authenticated_peer(stream_id id) const
    {
        auto it = streams_.find(id);
        if (it == streams_.end() || !it->second.established)
            return std::nullopt;
        return it->second.peer_id;
    }

private:
    static constexpr std::size_t tag_size = 16;

    struct session {
        endpoint peer;
        bool outbound = false;
        bool established = false;
        /// The node told `stream_connected` (an outbound stream is told its `stream_closed` either way).
        bool announced = false;
        time_point started{};
        std::optional<node_id> expected;
        /// Why its handshake failed (`handshake_failed`, `unexpected_peer`); empty otherwise.
        std::error_code failure;
        std::optional<noise::xx_handshake> hs;
        node_id peer_id{};
        noise::cipher_state send, receive;
    };

    void emit(stream_event const& e)
    {
        if (handler_)
            handler_(e);
    }

    void on_inner(stream_event const& e)
    {
        if (!authenticates()) {
            emit(e);
            return;
        }
        expire_handshakes();
        if (auto const* c = std::get_if<stream_connected>(&e))
            on_connected(*c);
        else if (auto const* f = std::get_if<stream_frame>(&e))
            on_frame(*f);
        else if (auto const* closed = std::get_if<stream_closed>(&e))
            on_closed(*closed);
        else if (auto const* w = std::get_if<stream_writable>(&e)) {
            if (auto it = streams_.find(w->id); it != streams_.end() && it->second.established)
                emit(e);
        }
    }

    void on_connected(stream_connected const& c)
    {
        if (c.inbound) {
            if (pending() >= max_pending_handshakes) {
                ++stats_.refused_busy;
                inner_.close(c.id); // its stream_closed is swallowed: the node never heard of it
                streams_[c.id].peer = c.peer;
                return;
            }
            session& s = streams_[c.id];
            s.peer = c.peer;
            s.started = now_();
            s.hs.emplace(noise::xx_handshake::role::responder, static_secret_, prologue(), draw_key());
            return;
        }
        auto it = streams_.find(c.id);
        if (it == streams_.end())
            return;
        session& s = it->second;
        s.hs.emplace(noise::xx_handshake::role::initiator, static_secret_, prologue(), draw_key());
        write(c.id, s, {});
    }

    void on_frame(stream_frame const& f)
    {
        auto it = streams_.find(f.id);
        if (it == streams_.end())
            return;
        session& s = it->second;
        if (s.established) {
            opened_.clear();
            if (!s.receive.decrypt_with_ad({}, f.bytes, opened_)) {
                ++stats_.decrypt_failures;
                inner_.close(f.id);
                return;
            }
            emit(stream_frame{f.id, opened_});
            return;
        }
        if (!s.hs || s.hs->our_turn() || !read(f.id, s, f.bytes))
            return;
        if (!s.hs->complete())
            write(f.id, s, std::as_bytes(std::span(key_->id().bytes)));
        if (s.hs && s.hs->complete())
            establish(f.id, s);
    }

    void on_closed(stream_closed const& c)
    {
        auto it = streams_.find(c.id);
        if (it == streams_.end()) {
            emit(c);
            return;
        }
        bool const tell = it->second.outbound || it->second.announced;
        // A connect whose handshake failed ends with why, not with the close that followed.
        std::error_code const reason = it->second.announced || !it->second.failure ? c.reason : it->second.failure;
        streams_.erase(it);
        if (tell)
            emit(stream_closed{c.id, reason});
    }

    /// Writes our next handshake message (message 2 and 3 carry our id).
    void write(stream_id id, session& s, std::span<std::byte const> payload)
    {
        out_.clear();
        if (s.hs->write_message(payload, out_) || inner_.send(id, out_))
            fail(id, s, false);
    }

    /// Reads the peer's handshake message; checks the id it carries against the key it proved.
    bool read(stream_id id, session& s, std::span<std::byte const> message)
    {
        payload_.clear();
        if (s.hs->read_message(message, payload_)) {
            fail(id, s, false);
            return false;
        }
        if (s.hs->next_message() == 1)
            return true; // message 1 carries no id
        if (payload_.size() != s.peer_id.bytes.size()) {
            fail(id, s, false);
            return false;
        }
        std::memcpy(s.peer_id.bytes.data(), payload_.data(), s.peer_id.bytes.size());
        auto const proven = x25519_public_of(s.peer_id);
        if (!proven || *proven != s.hs->remote_static()) {
            fail(id, s, false);
            return false;
        }
        if (s.expected && *s.expected != s.peer_id) {
            fail(id, s, true);
            return false;
        }
        return true;
    }

    void establish(stream_id id, session& s)
    {
        std::tie(s.send, s.receive) = s.hs->split(); // this side's sending cipher, then its receiving one
        s.hs.reset();
        s.established = true;
        s.announced = true;
        ++stats_.handshakes_completed;
        emit(stream_connected{id, s.peer, !s.outbound});
    }

    void fail(stream_id id, session& s, bool unexpected)
    {
        ++(unexpected ? stats_.unexpected_peers : stats_.handshake_failures);
        s.failure = make_error_code(unexpected ? errc::unexpected_peer : errc::handshake_failed);
        s.hs.reset();
        inner_.close(id);
    }

    [[nodiscard]] std::size_t pending() const
    {
        std::size_t n = 0;
        for (auto const& [id, s] : streams_)
            n += !s.established;
        return n;
    }

    void expire_handshakes()
    {
        time_point const now = now_();
        for (auto& [id, s] : streams_)
            if (!s.established && s.hs && now - s.started > handshake_timeout) {
                ++stats_.handshake_timeouts;
                s.failure = make_error_code(errc::handshake_failed);
                s.hs.reset();
                inner_.close(id);
            }
    }

    static std::span<std::byte const> prologue() noexcept
    {
        static constexpr std::string_view p = "meshkit-secure-stream/1";
        return std::as_bytes(std::span(p.data(), p.size()));
    }

    x25519_key draw_key()
    {
        return detail::random_key<deterministic>(rng_);
    }

    Inner inner_;
    stream_handler handler_;
    std::optional<signing_key> key_;
    bool plaintext_ = false;
    x25519_key static_secret_{};
    std::function<time_point()> now_ = [] { return time_point{}; };
    ::meshkit::detail::rng rng_{0};
    std::map<stream_id, session> streams_;
    std::map<endpoint, node_id> expected_;
    std::vector<std::byte> out_, payload_, opened_, sealed_;
    secure_stream_stats stats_;
};

} // namespace meshkit::security

#endif // MESHKIT_SECURITY_SECURE_STREAM_TRANSPORT_HPP

// tests/support/recording_context.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
// A test double for `meshkit::engine_context`: runs one engine with no node.
#ifndef MESHKIT_TESTS_SUPPORT_RECORDING_CONTEXT_HPP
#define MESHKIT_TESTS_SUPPORT_RECORDING_CONTEXT_HPP

#include <meshkit/broadcast/message_key.hpp>
#include <meshkit/concepts/clock.hpp>
#include <meshkit/detail/rng.hpp>
#include <meshkit/endpoint.hpp>
#include <meshkit/error.hpp>
#include <meshkit/hierarchy/flat.hpp>
#include <meshkit/inbound.hpp>
#include <meshkit/metrics/in_memory_metrics.hpp>
#include <meshkit/node_id.hpp>
#include <meshkit/peer_events.hpp>
#include <meshkit/result.hpp>
#include <meshkit/security/signing_key.hpp>
#include <meshkit/storage/memory_store.hpp>
#include <meshkit/time.hpp>
#include <meshkit/type_list.hpp>
#include <meshkit/wire/channel.hpp>
#include <meshkit/wire/envelope.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace meshkit::test {

/// The discovery policy of a `recording_context` whose engine consults none.
struct no_discovery {};

/** Stands in for a node's `engine_context`, recording what the engine asks for.

    An engine sees a node only through its context (docs/concepts/engine.md,
    "The context"). This double offers the same members, so a test can call an
    engine's hooks directly and assert on what the engine did: the messages
    it sent (`outbox`), the timers it armed (`timers`), the events it emitted
    (`events`) and the metrics it recorded (`sink`). No transport, clock,
    codec or node is involved: time moves only when the test moves it.

    The members are public on purpose: a test sets the time (`clock`), the
    node's identity (`me`, `addr`) and what sends return (`send_result`),
    and reads the records directly.

    @tparam Engine the engine under test; its `messages` registry bounds what
    it may send and its `events` list what it may emit (plus the node's
    own events, as in `basic_node::event_type`).
    @tparam Metrics the sink `metrics()` returns.
    @tparam Discovery the policy `discovery()` returns, for engines that
    consult the node's peer cache.
    @tparam Messages the messages `send` and `forward` accept.
    @tparam Hierarchy the policy `hierarchy()` returns (`hierarchy::flat` by default; a test sets its role).
    @tparam Storage the backend `storage()` returns (a `storage::memory_store` by default, which the test can read).

    @par Example
    @code
    membership::liveness engine{{.ping_interval = 1s}};
    test::recording_context<membership::liveness> ctx;
    engine.add_candidate(ctx, peer_address);          // the engine pings at once
    auto pings = ctx.sent_of<membership::ping>();     // {peer_address, ping{nonce}}
    ctx.deliver(engine, peer_address, peer_id, membership::pong{pings[0].second.nonce});
    ctx.advance(engine, 5s);                          // runs due timers in time order
    EXPECT_EQ(ctx.events_of<peer_up>().size(), 1u);
    @endcode
*/
template <class Engine, class Metrics = metrics::in_memory_metrics, class Discovery = no_discovery,
          class Messages = typename Engine::messages, class Hierarchy = hierarchy::flat,
          class Storage = storage::memory_store>
class recording_context {
public:
    using message_type = typename Messages::variant_type;
    using event_type = variant_of<type_list_union<typename Engine::events,
                                                  type_list<peer_up, peer_down, contact_failed, peers_wanted,
                                                            transport_error>>>;

    /// One `send` or `forward` the engine made.
    struct sent {
        endpoint to;
        message_type message;
        /// The envelope a `forward` passed on (hops already incremented); empty for `send`.
        std::optional<wire::envelope> forwarded{};
    };

    /// One `set_timer` the engine made.
    struct timer {
        time_point due;
        std::uint64_t tag;
        timer_handle handle;
        bool cancelled = false;
        bool fired = false;

        [[nodiscard]] bool pending() const noexcept { return !cancelled && !fired; }
    };

    // -- what the test sets ---------------------------------------------------

    /// What `now()` returns; a test moves it directly or with `advance`.
    time_point clock{};
    node_id me = node_id::from_seed(100);
    endpoint addr = endpoint::v4(10, 0, 0, 100, 7000);
    /// Where its stream transport listens; unspecified: it has none.
    endpoint stream_addr{};
    std::uint64_t incarnation_count = 1;
    detail::rng generator{5};
    Metrics sink{};
    Discovery peers{};
    Hierarchy tier{};
    Storage store{};
    /// What every `send` and `forward` returns (after recording the message): set it to make sends fail.
    std::error_code send_result{};
    /// The node's key: set, the context signs and demands signatures as a secure node does.
    std::optional<security::signing_key> key;
    /// What `broadcast` returns as its error when set (the broadcast engine refused: `errc::queue_full`).
    std::error_code broadcast_result{};

    // -- what the engine did --------------------------------------------------

    std::vector<sent> outbox;
    std::vector<timer> timers;
    std::vector<event_type> events;
    std::vector<endpoint> closed_streams;
    std::vector<std::vector<std::byte>> broadcasts;
    /// Each `expect_peer(address, id)` the engine made.
    std::vector<std::pair<endpoint, node_id>> expected_peers;

    // -- the engine_context members -------------------------------------------

    [[nodiscard]] time_point now() const noexcept { return clock; }
    [[nodiscard]] node_id const& self() const noexcept { return me; }
    [[nodiscard]] std::uint64_t incarnation() const noexcept { return incarnation_count; }
    [[nodiscard]] endpoint local_endpoint() const noexcept { return addr; }
    [[nodiscard]] endpoint local_endpoint(wire::channel c) const noexcept
    {
        return c == wire::channel::stream ? stream_addr : addr;
    }
    /// Records the payload; returns `broadcast_result` when it is set, else a fresh key from this node.
    result<broadcast::message_key> broadcast(std::span<std::byte const> payload)
    {
        broadcasts.emplace_back(payload.begin(), payload.end());
        if (broadcast_result)
            return result<broadcast::message_key>(boost::system::in_place_error, broadcast_result);
        return broadcast::message_key{me, broadcasts.size()};
    }
    /// As a secure node when `key` is set (its id then should be the key's), else as an insecure one.
    [[nodiscard]] bool signs_records() const noexcept { return key.has_value(); }
    [[nodiscard]] std::optional<security::signature> sign(std::span<std::byte const> message) const
    {
        return key ? std::optional(key->sign(message)) : std::nullopt;
    }
    [[nodiscard]] bool verify(node_id const& author, std::span<std::byte const> message,
                              std::optional<security::signature> const& sig) const
    {
        return !key || (sig && security::verify(author, message, *sig));
    }
    void expect_peer(endpoint const& address, node_id const& id) { expected_peers.emplace_back(address, id); }

    /// Records the close; reports a stream was held.
    bool close_stream(endpoint const& peer)
    {
        closed_streams.push_back(peer);
        return true;
    }
    [[nodiscard]] std::vector<endpoint> local_endpoints() const
    {
        if (stream_addr.is_unspecified())
            return {addr};
        return {addr, stream_addr};
    }

    template <class M>
    std::error_code send(endpoint const& to, M const& m)
    {
        static_assert(Messages::template contains<M>,
                      "meshkit: recording_context: the engine sends a message outside its Messages registry");
        outbox.push_back(sent{to, message_type{std::in_place_type<M>, m}});
        return send_result;
    }

    /// As the node does: refuses a 256th hop, otherwise records the envelope with one more hop.
    template <class M>
    std::error_code forward(endpoint const& to, wire::envelope header, M const& m)
    {
        static_assert(Messages::template contains<M>,
                      "meshkit: recording_context: the engine forwards a message outside its Messages registry");
        if (header.hops == 255)
            return errc::hop_limit;
        ++header.hops;
        outbox.push_back(sent{to, message_type{std::in_place_type<M>, m}, header});
        return send_result;
    }

    timer_handle set_timer(duration after, std::uint64_t tag)
    {
        timer_handle const h{timers.size() + 1}; // never zero: the zero handle names no timer
        timers.push_back(timer{clock + after, tag, h});
        return h;
    }

    void cancel_timer(timer_handle h)
    {
        if (h && h.value <= timers.size())
            timers[h.value - 1].cancelled = true;
    }

    template <class E>
    void emit(E const& e)
    {
        static_assert(std::is_constructible_v<event_type, E const&>,
                      "meshkit: recording_context: the engine emits an event missing from Engine::events");
        events.emplace_back(e);
    }

    [[nodiscard]] detail::rng& rng() noexcept { return generator; }
    [[nodiscard]] Discovery& discovery() noexcept { return peers; }
    [[nodiscard]] Metrics& metrics() noexcept { return sink; }
    [[nodiscard]] Hierarchy& hierarchy() noexcept { return tier; }
    [[nodiscard]] Storage& storage() noexcept { return store; }

    // -- driving the engine as a node would -----------------------------------

    /** Moves the clock forward by `d`, calling `on_timer` for each timer that
        falls due on the way, earliest first (ties in the order they were
        armed), with `now()` at the timer's due time. Timers the engine arms
        meanwhile run too if they fall due before the end.
        @return the number of timers that fired.
    */
    std::size_t advance(Engine& engine, duration d)
    {
        time_point const until = clock + d;
        std::size_t fired = 0;
        while (auto* t = earliest_pending(until)) {
            fire(engine, *t);
            ++fired;
        }
        clock = until;
        return fired;
    }

    /// Jumps to the earliest pending timer and fires it (for random phases). @return false if none is pending.
    bool fire_next(Engine& engine)
    {
        auto* t = earliest_pending(time_point::max());
        if (!t)
            return false;
        fire(engine, *t);
        return true;
    }

    /** Hands `m` to the engine as the node does for an arriving datagram:
        `on_datagram` first (if the engine has it), then `on_message`.
        The envelope names `sender` with no hops and a fresh message id.
    */
    template <class M>
    void deliver(Engine& engine, endpoint const& from, node_id const& sender, M const& m, std::uint8_t hops = 0)
    {
        inbound const in{from, wire::envelope{M::wire_id, sender, ++next_message_id_, hops}};
        if constexpr (requires { engine.on_datagram(*this, in); })
            engine.on_datagram(*this, in);
        engine.on_message(*this, in, m);
    }

    // -- reading the records ----------------------------------------------------

    /// Every `M` sent or forwarded, with its destination, in order.
    template <class M>
    [[nodiscard]] std::vector<std::pair<endpoint, M>> sent_of() const
    {
        std::vector<std::pair<endpoint, M>> out;
        for (auto const& s : outbox)
            if (auto const* m = std::get_if<M>(&s.message))
                out.emplace_back(s.to, *m);
        return out;
    }

    /// Every `E` emitted, in order.
    template <class E>
    [[nodiscard]] std::vector<E> events_of() const
    {
        std::vector<E> out;
        for (auto const& e : events)
            if (auto const* x = std::get_if<E>(&e))
                out.push_back(*x);
        return out;
    }

    /// The number of timers armed and neither fired nor cancelled.
    [[nodiscard]] std::size_t pending_timers() const noexcept
    {
        std::size_t n = 0;
        for (auto const& t : timers)
            n += t.pending() ? 1 : 0;
        return n;
    }

    /// Forgets the sends and events recorded so far (timers stay: they are still armed).
    void clear_records()
    {
        outbox.clear();
        events.clear();
    }

private:
    timer* earliest_pending(time_point until)
    {
        timer* best = nullptr;
        for (auto& t : timers)
            if (t.pending() && t.due <= until && (!best || t.due < best->due))
                best = &t;
        return best;
    }

    void fire(Engine& engine, timer& t)
    {
        t.fired = true;
        clock = std::max(clock, t.due);
        std::uint64_t const tag = t.tag; // on_timer may arm timers, reallocating `timers`
        engine.on_timer(*this, tag);
    }

    std::uint64_t next_message_id_ = 0;
};

} // namespace meshkit::test

#endif // MESHKIT_TESTS_SUPPORT_RECORDING_CONTEXT_HPP

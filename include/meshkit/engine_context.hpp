// engine_context.hpp
// ~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_ENGINE_CONTEXT_HPP
#define MESHKIT_ENGINE_CONTEXT_HPP

#include <meshkit/concepts/clock.hpp>
#include <meshkit/detail/rng.hpp>
#include <meshkit/endpoint.hpp>
#include <meshkit/error.hpp>
#include <meshkit/node_id.hpp>
#include <meshkit/security/signature.hpp>
#include <meshkit/security/signing_key.hpp>
#include <meshkit/time.hpp>
#include <meshkit/wire/channel.hpp>
#include <meshkit/wire/envelope.hpp>
#include <meshkit/wire/forwarding.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <system_error>
#include <vector>

namespace meshkit {

/** The narrow view of a node that one engine is given.

    This is the whole sans-IO boundary: an engine can read the time, send a
    message, arm a timer, emit an event, draw random numbers, and reach the
    node's policies other than its transport and clock: discovery (its peer
    cache), hierarchy, storage and metrics. Nothing else. It cannot see the transport, the clock or the other
    engines, which is what lets the same engine run over the simulator,
    over UDP, and under a recording context in unit tests.

    @tparam Node the `basic_node` instantiation.
    @tparam I the engine's index in the node's engine list; it routes the
    engine's timers back to it.
*/
template <class Node, std::size_t I>
class engine_context {
public:
    explicit engine_context(Node& node) noexcept : node_(&node) {}

    /// The node's clock.
    [[nodiscard]] time_point now() const { return node_->clock().now(); }

    /// This node's id (the sender of everything it sends).
    [[nodiscard]] node_id const& self() const noexcept { return node_->id(); }

    /// How many times this identity was started on this storage (`basic_node::incarnation`).
    [[nodiscard]] std::uint64_t incarnation() const noexcept { return node_->incarnation(); }

    /// The address this node's datagram transport is bound at.
    [[nodiscard]] endpoint local_endpoint() const { return node_->local_endpoint(); }

    /// Where this node's first transport of channel `c` listens (unspecified when none carries `c`).
    [[nodiscard]] endpoint local_endpoint(wire::channel c) const { return node_->local_endpoint(c); }

    /// Where each of this node's transports listens, in the bundle's order: what a record advertises.
    [[nodiscard]] std::vector<endpoint> local_endpoints() const { return node_->local_endpoints(); }

    /** Broadcasts `payload` through the node's broadcast engine, as `basic_node::broadcast` does.

        For an engine that bridges into the mesh: a substrate puts its
        children's publications in. The broadcast engine's hook runs inside
        this one; what it raises is delivered after the outermost hook, as
        always. @return the broadcast engine's result.
    */
    auto broadcast(std::span<std::byte const> payload) { return node_->broadcast(payload); }

    /** Closes the node's stream to `peer` (an attachment it ends, a peer it refused).

        Frames already handed over still go out; `stream_ended` with
        `closed_locally` follows. @return false when there is no such stream.
    */
    bool close_stream(endpoint const& peer) { return node_->close_stream(peer); }

    /** Sends `m` to `to` in a new envelope from this node.

        `to` must belong to a transport of this node that carries `m`'s
        channel. @return the transport's or encoder's error, or
        `errc::unknown_transport` / `errc::wrong_channel`.
    */
    template <class M>
    std::error_code send(endpoint const& to, M const& m)
    {
        return node_->send_new(to, m);
    }

    /** Sends `m` to `to` in the given envelope with one more hop.

        For engines that relay another node's message (gossip): the original
        sender and message id are kept, so receivers can deduplicate.
        @return `errc::hop_limit` when the envelope has already made 255 hops.
    */
    template <class M>
    std::error_code forward(endpoint const& to, wire::envelope header, M const& m)
    {
        static_assert(wire::may_be_forwarded<M>,
                      "meshkit: engine_context::forward relays a message kind that does not declare "
                      "`static constexpr bool forwarded = true;` (see wire/forwarding.hpp)");
        if (header.hops == 255)
            return errc::hop_limit; // one more would wrap to 0 and look first-hand
        ++header.hops;
        return node_->send_with(to, header, m);
    }

    /// Calls this engine's `on_timer(ctx, tag)` after `after`.
    timer_handle set_timer(duration after, std::uint64_t tag) { return node_->template arm_timer<I>(after, tag); }

    /// Cancels a timer set through this context.
    void cancel_timer(timer_handle h) { node_->clock().cancel(h); }

    /** Raises an event: the node routes it to the engines, discovery and the application.

        It is queued, and delivered after the hook that raised it returns,
        so an engine may emit while it iterates its own state: no handler
        runs inside the loop.
    */
    template <class E>
    void emit(E const& e)
    {
        node_->queue_event(e);
    }

    // -- identity: what a secure node's key does for its engines ------------

    /// Whether this node signs its records and demands signed ones: its transport is secure, its id a key.
    [[nodiscard]] static constexpr bool signs_records() noexcept { return Node::secure; }

    /** This node's signature of `message`, or nothing on an insecure node (its id is no key).

        Engines sign what travels beyond them under their id (a peer
        record, a beacon) over a domain tag and the record's bytes.
    */
    [[nodiscard]] std::optional<security::signature> sign(std::span<std::byte const> message) const
    {
        if constexpr (Node::secure)
            return node_->signing_key().sign(message);
        else
            return std::nullopt;
    }

    /** Whether `sig` is `author`'s signature of `message`.

        A secure node demands one that verifies; an insecure node, whose
        peers' ids are no keys, cannot check any and takes the record as
        its session's word (which, insecure, is any sender's).
    */
    [[nodiscard]] bool verify(node_id const& author, std::span<std::byte const> message,
                              std::optional<security::signature> const& sig) const
    {
        if constexpr (Node::secure)
            return sig && security::verify(author, message, *sig);
        else
            return true;
    }

    /** Says that node `id` should answer at `address`: a secure transport then fails a handshake there with any other key.

        The connector calls it for every address it dials a known peer at,
        so a forged record cannot route the lines meant for `id` to
        someone else. Nothing on an insecure node.
    */
    void expect_peer(endpoint const& address, node_id const& id) { node_->expect_peer(address, id); }

    /** Opens up to `count` extra sockets, each sending a birthday probe with `token` to `to` (birthday_probe.hpp).

        The side behind a random symmetric NAT calls it; a probe with
        `token` that reaches one of them comes back as the engine's
        `on_birthday_hit(ctx, from, token)`, and from then on what the node
        sends to `from` leaves through that socket. @return how many were
        opened: 0 when the node's transport cannot (a stream, a custom one).
    */
    std::size_t open_birthday_sockets(endpoint const& to, std::uint64_t token, std::size_t count)
    {
        return node_->open_birthday_sockets(to, token, count);
    }

    /// Sends one birthday probe with `token` to `to`, from the node's own socket (the other side's part).
    std::error_code send_birthday_probe(endpoint const& to, std::uint64_t token)
    {
        return node_->send_birthday_probe(to, token);
    }

    /// The node's seeded generator.
    [[nodiscard]] detail::rng& rng() noexcept { return node_->rng(); }

    /** The node's discovery policy.

        Engines that learn about peers (cache gossip) or choose among them
        (the connection ladder) read and feed the same cache the node draws
        its candidates from. They require what they use of it, so a node
        with a plainer discovery policy rejects them at compile time.
    */
    [[nodiscard]] auto& discovery() noexcept { return node_->discovery(); }

    /// The node's metrics sink.
    [[nodiscard]] auto& metrics() noexcept { return node_->metrics(); }

    /** The node's hierarchy strategy (`meshkit::hierarchy_strategy`).

        Engines that attach or choose parents read the node's role, level
        and parent from it, ask it whether a candidate justifies a move, and
        record the attachments they make (`attach`, `detach`).
    */
    [[nodiscard]] auto& hierarchy() noexcept { return node_->hierarchy(); }

    /** The node's storage (`meshkit::storage_backend`), for state an engine keeps across restarts.

        Keys are shared with the node and every engine: prefix them with
        the engine's name (`"attacher/parent"`). `meshkit/` is the node's.
    */
    [[nodiscard]] auto& storage() noexcept { return node_->storage(); }

private:
    Node* node_;
};

} // namespace meshkit

#endif // MESHKIT_ENGINE_CONTEXT_HPP

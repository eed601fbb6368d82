// topic/topic_context.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_TOPIC_TOPIC_CONTEXT_HPP
#define MESHKIT_TOPIC_TOPIC_CONTEXT_HPP

#include <meshkit/concepts/clock.hpp>
#include <meshkit/endpoint.hpp>
#include <meshkit/node_id.hpp>
#include <meshkit/security/signature.hpp>
#include <meshkit/time.hpp>
#include <meshkit/topic/topic_id.hpp>
#include <meshkit/wire/channel.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <system_error>
#include <vector>

namespace meshkit::topic {

/** What one engine of one topic is given: its node's context, with sends framed for the topic.

    The same surface as `engine_context`, so HyParView, Plumtree or an
    engine of the user's run in a topic unchanged. What differs: `send`
    wraps the message in a `topic_frame` (and drops keepalives: the host
    probes each peer once for every topic); timers come back to this
    engine of this topic; events go to the topic's other engines first,
    then to the application as `topic_event<E>`; `broadcast` publishes in
    this topic. Everything else (clock, identity, discovery, storage,
    metrics, hierarchy) is the node's.

    @tparam Outer the node's `engine_context` for the host.
    @tparam Host the `topic_host`.
    @tparam I the engine's index among the topic's engines.
*/
template <class Outer, class Host, std::size_t I>
class topic_context {
public:
    topic_context(Outer& outer, Host& host, std::size_t slot) noexcept : outer_(&outer), host_(&host), slot_(slot) {}

    /// The topic this engine runs in.
    [[nodiscard]] topic_id topic() const { return host_->topic_at(slot_); }

    [[nodiscard]] time_point now() const { return outer_->now(); }
    [[nodiscard]] node_id const& self() const noexcept { return outer_->self(); }
    [[nodiscard]] std::uint64_t incarnation() const noexcept { return outer_->incarnation(); }
    [[nodiscard]] endpoint local_endpoint() const { return outer_->local_endpoint(); }
    [[nodiscard]] endpoint local_endpoint(wire::channel c) const { return outer_->local_endpoint(c); }
    [[nodiscard]] std::vector<endpoint> local_endpoints() const { return outer_->local_endpoints(); }

    /// Sends `m` to `to` inside a frame of this topic.
    template <class M>
    std::error_code send(endpoint const& to, M const& m)
    {
        return host_->send_framed(*outer_, slot_, to, m);
    }

    /// Publishes `payload` in this topic through its broadcast engine.
    auto broadcast(std::span<std::byte const> payload) { return host_->publish_in(*outer_, slot_, payload); }

    bool close_stream(endpoint const& peer) { return outer_->close_stream(peer); }

    /// Calls this engine's `on_timer(ctx, tag)` in this topic after `after` (`tag` below 2^44).
    timer_handle set_timer(duration after, std::uint64_t tag) { return host_->template arm<I>(*outer_, slot_, after, tag); }
    void cancel_timer(timer_handle h) { outer_->cancel_timer(h); }

    /// Raises `e` in this topic: its engines hear it first, then the application as `topic_event<E>`.
    template <class E>
    void emit(E const& e)
    {
        host_->queue_event(slot_, e);
    }

    [[nodiscard]] static constexpr bool signs_records() noexcept { return Outer::signs_records(); }
    [[nodiscard]] std::optional<security::signature> sign(std::span<std::byte const> message) const
    {
        return outer_->sign(message);
    }
    [[nodiscard]] bool verify(node_id const& author, std::span<std::byte const> message,
                              std::optional<security::signature> const& sig) const
    {
        return outer_->verify(author, message, sig);
    }
    void expect_peer(endpoint const& address, node_id const& id) { outer_->expect_peer(address, id); }
    [[nodiscard]] auto& rng() noexcept { return outer_->rng(); }
    [[nodiscard]] auto& discovery() noexcept { return outer_->discovery(); }
    [[nodiscard]] auto& metrics() noexcept { return outer_->metrics(); }
    [[nodiscard]] auto& hierarchy() noexcept { return outer_->hierarchy(); }
    [[nodiscard]] auto& storage() noexcept { return outer_->storage(); }

private:
    Outer* outer_;
    Host* host_;
    std::size_t slot_;
};

} // namespace meshkit::topic

#endif // MESHKIT_TOPIC_TOPIC_CONTEXT_HPP

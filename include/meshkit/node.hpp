// node.hpp
// ~~~~~~~~
#ifndef MESHKIT_NODE_HPP
#define MESHKIT_NODE_HPP

#include <meshkit/birthday_probe.hpp>
#include <meshkit/concepts/clock.hpp>
#include <meshkit/concepts/discovery_strategy.hpp>
#include <meshkit/concepts/engine.hpp>
#include <meshkit/concepts/hierarchy_strategy.hpp>
#include <meshkit/concepts/metrics_sink.hpp>
#include <meshkit/concepts/peer_cache.hpp>
#include <meshkit/concepts/stream_transport.hpp>
#include <meshkit/concepts/storage_backend.hpp>
#include <meshkit/concepts/transport.hpp>
#include <meshkit/detail/discovery_persistence.hpp>
#include <meshkit/detail/event_queue.hpp>
#include <meshkit/detail/node_identity.hpp>
#include <meshkit/detail/node_traits.hpp>
#include <meshkit/detail/rng.hpp>
#include <meshkit/detail/stream_table.hpp>
#include <meshkit/detail/transport_set.hpp>
#include <meshkit/endpoint.hpp>
#include <meshkit/engine_context.hpp>
#include <meshkit/error.hpp>
#include <meshkit/inbound.hpp>
#include <meshkit/membership/liveness.hpp>
#include <meshkit/node_config.hpp>
#include <meshkit/node_id.hpp>
#include <meshkit/node_stats.hpp>
#include <meshkit/peer_events.hpp>
#include <meshkit/security/identity_store.hpp>
#include <meshkit/security/signing_key.hpp>
#include <meshkit/type_list.hpp>
#include <meshkit/stream_events.hpp>
#include <meshkit/stream_lifecycle.hpp>
#include <meshkit/transport_protocol.hpp>
#include <meshkit/wire/channel.hpp>
#include <meshkit/wire/error.hpp>
#include <meshkit/wire/forwarding.hpp>
#include <meshkit/wire/registry.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <stdexcept>
#include <system_error>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace meshkit {

/** A mesh node composed at compile time from a bundle of policies.

    `Policies` names one type per policy: `transport`, `clock`, `discovery`,
    `hierarchy`, `storage` and `metrics`, and optionally `engines`, a
    `type_list` of the sans-IO protocol engines to run (default: liveness).
    A node with several transports names them as `transports`, a
    `type_list` whose first is a datagram transport (e.g.
    `type_list<udp::transport, tcp::transport>`); each carries one channel,
    and each endpoint says which transport it belongs to.
    Derive from a ready bundle and override what differs:

    @code
    struct my_policies : meshkit::sim_policies {
        using metrics = meshkit::metrics::in_memory_metrics;
    };
    using my_node = meshkit::basic_node<my_policies>;
    @endcode

    The node owns its policies as members, decodes every datagram with the
    union of its engines' message registries, dispatches each message to
    the engine that declared it, and routes engine events to discovery and
    then to the application (`on_event`).

    @tparam Policies the policy bundle; each member is checked against its
    concept below, and a mismatch names the concept and its doc page.

    @par Thread safety
    <em>Distinct objects</em>: Safe. <em>Shared objects</em>: Unsafe. A node
    runs on the thread that runs its transport and clock.
*/
template <class Policies>
class basic_node {
    static_assert(detail::names_transport_list<Policies> || transport<typename detail::transport_of<Policies>::type>,
                  "meshkit: Policies::transport does not model meshkit::transport (see docs/concepts/transport.md)");
    static_assert(!detail::names_transport_list<Policies> ||
                  detail::check_transport_set(static_cast<typename detail::transports_of<Policies>::type*>(nullptr)));
    static_assert(clock<typename detail::clock_of<Policies>::type>,
                  "meshkit: Policies::clock does not model meshkit::clock (see docs/concepts/clock.md)");
    static_assert(discovery_strategy<typename detail::discovery_of<Policies>::type>,
                  "meshkit: Policies::discovery does not model meshkit::discovery_strategy "
                  "(see docs/concepts/discovery_strategy.md)");
    static_assert(hierarchy_strategy<typename detail::hierarchy_of<Policies>::type>,
                  "meshkit: Policies::hierarchy does not model meshkit::hierarchy_strategy "
                  "(see docs/concepts/hierarchy_strategy.md)");
    static_assert(storage_backend<typename detail::storage_of<Policies>::type>,
                  "meshkit: Policies::storage does not model meshkit::storage_backend "
                  "(see docs/concepts/storage_backend.md)");
    static_assert(metrics_sink<typename detail::metrics_of<Policies>::type>,
                  "meshkit: Policies::metrics does not model meshkit::metrics_sink (see docs/concepts/metrics_sink.md)");

    static_assert(detail::all_engines<typename detail::engines_of<Policies>::type>::value,
                  "meshkit: every type in Policies::engines must model meshkit::engine, and Policies::engines must "
                  "be a meshkit::type_list (see docs/concepts/engine.md)");

    static_assert(!detail::any_needs_peer_cache<typename detail::engines_of<Policies>::type>::value ||
                      peer_cache<typename detail::discovery_of<Policies>::type>,
                  "meshkit: an engine in Policies::engines (the connection ladder, cache gossip) needs a discovery "
                  "policy that models meshkit::peer_cache, such as discovery::bootstrap_cache "
                  "(see docs/concepts/peer_cache.md)");

    using engine_info = detail::engine_tuple<typename detail::engines_of<Policies>::type>;

public:
    using policies = Policies;
    /// The node's transports, in order: a `type_list` whose first is a datagram transport.
    using transports_type = typename detail::transports_of<Policies>::type;
    /// The first transport, a datagram one: the node's address, clock and liveness are its.
    using transport_type = first_t<transports_type>;
    /// Whether the node carries stream messages (a transport of its bundle is a stream transport).
    static constexpr bool has_streams =
        detail::transport_set_of<transports_type>::type::template carries<wire::channel::stream>;
    using clock_type = typename detail::clock_of<Policies>::type;
    using discovery_type = typename detail::discovery_of<Policies>::type;
    using hierarchy_type = typename detail::hierarchy_of<Policies>::type;
    using storage_type = typename detail::storage_of<Policies>::type;
    using metrics_type = typename detail::metrics_of<Policies>::type;
    using engines_type = typename engine_info::type;
    /// Every message the node's engines speak.
    using messages = typename engine_info::messages;
    /// Every event the node's engines emit.
    using event_type = variant_of<typename engine_info::events>;

    /// The storage key of the node's persisted identity.
    static constexpr char const* identity_key = detail::identity_key;

    /** Builds a node in an environment, such as a `sim::network`.

        The first transport is built from `(env, config.listen)`, each other
        from `(env, address)` at the first's IP and port on its own protocol
        (UDP and TCP ports are separate, so a node listens on one port
        number for both). The clock is built from `(env, first transport)`
        when it can be, else from `(env)`. The other policies are passed
        in, or default-constructed.
    */
    template <class Env>
        requires std::constructible_from<transport_type, Env&, endpoint const&>
    explicit basic_node(Env& env, node_config config = {}, discovery_type discovery = {},
                        hierarchy_type hierarchy = {}, storage_type storage = {}, metrics_type metrics = {})
        : config_(std::move(config))
        , transports_(env, config_.listen)
        , clock_(make_clock(env, transports_.first()))
        , discovery_(std::move(discovery))
        , hierarchy_(std::move(hierarchy))
        , storage_(std::move(storage))
        , metrics_(std::move(metrics))
        , engines_(make_engines(std::make_index_sequence<std::tuple_size_v<engines_type>>{}))
        , rng_(detail::initial_seed(config_, transports_.first()))
    {
        if constexpr (secure) {
            // The id is the key: a node that authenticates its sessions cannot also take an id from its config.
            if (config_.id)
                throw std::invalid_argument("meshkit: node_config::id cannot be set on a node whose transport is "
                                            "secure: its id is its key's public half");
            key_.emplace(security::load_or_create_signing_key(storage_, [this] { return new_key(); }));
            id_ = key_->id();
            std::uint64_t const seed = rng_();
            transports_.for_each([&]<std::size_t J>(auto& t) {
                if constexpr (requires { t.use_identity(*key_, [] { return time_point{}; }, seed); })
                    t.use_identity(*key_, [this] { return clock_.now(); }, seed);
            });
        } else {
            id_ = detail::load_identity(storage_, config_, [this] { return rng_(); });
        }
        // A discovery policy that persists (the peer cache) starts from what it saved.
        discovery_load_error_ = detail::load_discovery(discovery_, storage_, clock_.now());
        // Message ids must not repeat across restarts of one identity: each
        // construction takes the next epoch from storage as the high bits.
        incarnation_ = detail::next_incarnation(storage_);
        next_message_id_ = incarnation_ << 40 | (rng_() & 0xffffffffu);
        std::apply([this](auto&... table) { (table.set_limit(config_.max_streams), ...); }, stream_tables_);
        transports_.for_each([this]<std::size_t J>(auto& t) {
            if constexpr (detail::channel_carried_by<transport_at<J>> == wire::channel::datagram) {
                t.on_receive([this](endpoint const& from, std::span<std::byte const> d) {
                    auto& self = transports_.template get<J>();
                    // On a secure transport (not in its debugging mode), the peer the session proved,
                    // asked now, inside the transport's handler, for the datagram it is handling.
                    // A datagram that came unsealed (to a LAN group) proves no one: only self-signed kinds pass.
                    std::optional<node_id> peer;
                    node_id const* proven = nullptr;
                    if constexpr (requires { self.authenticated_peer(from); })
                        if (self.authenticates()) {
                            bool unsealed = false;
                            if constexpr (requires { self.received_unsealed(); })
                                unsealed = self.received_unsealed();
                            if (unsealed) {
                                proven = &self_signed_only_;
                            } else {
                                peer = self.authenticated_peer(from);
                                proven = peer ? &*peer : &unauthenticated_;
                            }
                        }
                    on_bytes(from.on(detail::protocol_of<transport_at<J>>), d, wire::channel::datagram,
                             self.max_datagram_size(), proven);
                });
                if constexpr (requires { t.on_error([](std::error_code const&, endpoint const&) {}); })
                    t.on_error([this](std::error_code const& ec, endpoint const& peer) {
                        on_transport_error(ec, peer.on(detail::protocol_of<transport_at<J>>));
                    });
                if constexpr (requires { t.on_birthday_hit(birthday_hit_handler{}); })
                    t.on_birthday_hit([this](endpoint const& from, std::uint64_t token) {
                        on_birthday_hit(from.on(detail::protocol_of<transport_at<J>>), token);
                    });
            } else {
                t.on_stream([this](stream_event const& e) { on_stream_event<J>(e); });
            }
        });
        if constexpr (requires { transports_.first().on_restart([] {}); })
            transports_.first().on_restart([this] {
                // The host's timers died with the crash: restart the engines' clocks.
                if (running_) {
                    stop();
                    start();
                }
            });
    }

    basic_node(basic_node const&) = delete;
    basic_node& operator=(basic_node const&) = delete;

    // -- lifecycle --------------------------------------------------------

    /// Starts every engine; discovery is asked for candidates when an engine wants peers.
    void start()
    {
        if (running_)
            return;
        running_ = true;
        in_hook([this] {
            for_each_engine([this]<std::size_t I>(auto& e) {
                if constexpr (requires { e.start(std::declval<engine_context<basic_node, I>&>()); }) {
                    engine_context<basic_node, I> ctx{*this};
                    e.start(ctx);
                }
            });
        });
        arm_transport_sampling();
    }

    /** Stops the node: arriving datagrams are ignored and pending timers do nothing.

        Engine state is kept; `start()` resumes. To model a process restart,
        destroy the node and build a new one on a copy of its storage.
    */
    void stop() noexcept
    {
        // What the discovery policy learned since its last save survives a clean stop.
        if (running_)
            detail::save_discovery_now(discovery_, storage_);
        running_ = false;
        ++generation_;
    }

    [[nodiscard]] bool running() const noexcept { return running_; }

    /// Asks every engine that accepts candidates to contact `peer`.
    void join(endpoint const& peer)
    {
        in_hook([&] {
            for_each_engine([&]<std::size_t I>(auto& e) {
                if constexpr (requires { e.add_candidate(std::declval<engine_context<basic_node, I>&>(), peer); }) {
                    engine_context<basic_node, I> ctx{*this};
                    e.add_candidate(ctx, peer);
                }
            });
        });
    }

    /** Broadcasts `payload` through the node's broadcast engine (Plumtree, push gossip, flooding).

        @return the broadcast's key, or the engine's error (a payload over
        its limit gives `errc::message_too_large`).
    */
    auto broadcast(std::span<std::byte const> payload)
    {
        constexpr std::size_t I = broadcaster_index();
        static_assert(I < std::tuple_size_v<engines_type>,
                      "meshkit: basic_node::broadcast needs an engine with a broadcast(ctx, payload) hook "
                      "(add broadcast::plumtree, push_gossip or flooding to Policies::engines)");
        return in_hook([&] {
            engine_context<basic_node, I> ctx{*this};
            return std::get<I>(engines_).broadcast(ctx, payload);
        });
    }

    /** Adds what the transport counted since the last sample to the metrics sink, now.

        For a transport that keeps its own counters
        (`udp::transport::report_metrics`: kernel receive drops, truncated
        and refused datagrams, batches). A running node samples every
        second; call this before reading `metrics()` for the latest.
    */
    void sample_transport_metrics()
    {
        transports_.for_each([this]<std::size_t J>(auto& t) {
            if constexpr (requires { t.report_metrics(metrics_); })
                t.report_metrics(metrics_);
        });
    }

    /// The engine `broadcast` goes through.
    [[nodiscard]] auto& broadcaster() noexcept
    {
        constexpr std::size_t I = broadcaster_index();
        static_assert(I < std::tuple_size_v<engines_type>, "meshkit: this node has no broadcast engine");
        return std::get<I>(engines_);
    }

    /** Calls `f(engine, ctx)` with engine `E` and its context.

        The way to reach an engine's own operations that take a context,
        beyond those `basic_node` forwards itself.
    */
    template <class E, class F>
    decltype(auto) with_engine(F&& f)
    {
        constexpr std::size_t I = index_of<E>();
        return in_hook([&]() -> decltype(auto) {
            engine_context<basic_node, I> ctx{*this};
            return std::forward<F>(f)(std::get<I>(engines_), ctx);
        });
    }

    /** Installs the application's event handler (replacing any previous one).

        Events are queued: what an engine raises inside a hook (a datagram,
        a timer, a call such as `join`) is delivered, in the order raised,
        after that hook returns, so no handler ever runs inside another
        engine's iteration. The handler may broadcast, join, connect or stop
        the node; what those raise is delivered after the events already
        queued. It must not destroy this node: defer that until the call
        that delivered the event returns (after `net.advance()`, or with
        `asio::post`).
    */
    void on_event(std::function<void(event_type const&)> handler) { handler_ = std::move(handler); }

    // -- identity and parts ----------------------------------------------

    [[nodiscard]] node_id const& id() const noexcept { return id_; }

    /// Whether the node authenticates its peers: its first transport is secure, and its id is its key.
    static constexpr bool secure = requires(transport_type& t, security::signing_key const& k) {
        t.use_identity(k, [] { return time_point{}; }, std::uint64_t{});
    };

    /// The node's key (only on a secure node): what signs its records and proves its id.
    [[nodiscard]] security::signing_key const& signing_key() const noexcept
        requires secure
    {
        return *key_;
    }
    /** Says that node `id` should answer at `address` (`secure_transport::expect_peer`).

        Each secure transport then fails a handshake at `address` with any
        other key. Nothing on a transport that cannot tell (an insecure one).
    */
    /** Birthday probing through the datagram transport of `to`'s protocol, when it can (birthday_probe.hpp).

        @return the sockets opened; 0 when no transport of that protocol can.
    */
    std::size_t open_birthday_sockets(endpoint const& to, std::uint64_t token, std::size_t count)
    {
        std::size_t opened = 0;
        transports_.for_each([&]<std::size_t J>(auto& t) {
            if constexpr (requires { t.open_birthday_sockets(to, token, count); })
                if (opened == 0 && to.transport == detail::protocol_of<transport_at<J>>)
                    opened = t.open_birthday_sockets(to, token, count);
        });
        return opened;
    }

    /// One birthday probe to `to`; `errc::unknown_transport` when no transport of its protocol can send one.
    std::error_code send_birthday_probe(endpoint const& to, std::uint64_t token)
    {
        std::error_code ec = errc::unknown_transport;
        bool sent = false;
        transports_.for_each([&]<std::size_t J>(auto& t) {
            if constexpr (requires { t.send_birthday_probe(to, token); })
                if (!sent && to.transport == detail::protocol_of<transport_at<J>>) {
                    sent = true;
                    ec = t.send_birthday_probe(to, token);
                }
        });
        return ec;
    }

    void expect_peer(endpoint const& address, node_id const& id)
    {
        transports_.for_each([&]<std::size_t J>(auto& t) {
            if constexpr (requires { t.expect_peer(address, id); })
                if (address.transport == detail::protocol_of<transport_at<J>>)
                    t.expect_peer(address, id);
        });
    }

    /// Where the first (datagram) transport listens.
    [[nodiscard]] endpoint local_endpoint() const { return transports_.template local_endpoint<0>(); }

    /// Where the first transport of channel `c` listens; unspecified when no transport carries `c`.
    [[nodiscard]] endpoint local_endpoint(wire::channel c) const
    {
        if (c == wire::channel::datagram)
            return local_endpoint();
        if constexpr (has_streams)
            return transports_.template local_endpoint<first_stream>();
        else
            return {};
    }

    /// Where each transport listens, in the bundle's order: what a peer record advertises.
    [[nodiscard]] std::vector<endpoint> local_endpoints() const
    {
        std::vector<endpoint> all;
        [&]<std::size_t... J>(std::index_sequence<J...>) {
            (all.push_back(transports_.template local_endpoint<J>()), ...);
        }(std::make_index_sequence<transport_set::size>{});
        return all;
    }
    [[nodiscard]] node_config const& config() const noexcept { return config_; }
    [[nodiscard]] node_stats const& stats() const noexcept { return stats_; }
    /** How many times a node of this identity was built on this storage, this one included.

        Counts restarts without a clock: engines put it in the high bits of
        their versions so a restarted node's state beats its earlier run's.
    */
    [[nodiscard]] std::uint64_t incarnation() const noexcept { return incarnation_; }
    /// Why the discovery policy's saved state could not be loaded at construction, if it could not.
    [[nodiscard]] std::error_code discovery_load_error() const noexcept { return discovery_load_error_; }

    /// The first (datagram) transport.
    [[nodiscard]] transport_type& transport() noexcept { return transports_.first(); }

    /// The transport of type `T` in the bundle's list.
    template <class T>
    [[nodiscard]] T& transport() noexcept
    {
        return transports_.template get<type_list_index<T, transports_type>>();
    }

    /// The first stream transport (only when the bundle names one).
    [[nodiscard]] auto& stream_transport() noexcept
        requires has_streams
    {
        return transports_.template get<first_stream>();
    }
    [[nodiscard]] clock_type& clock() noexcept { return clock_; }
    [[nodiscard]] clock_type const& clock() const noexcept { return clock_; }
    [[nodiscard]] discovery_type& discovery() noexcept { return discovery_; }
    [[nodiscard]] hierarchy_type& hierarchy() noexcept { return hierarchy_; }
    [[nodiscard]] storage_type& storage() noexcept { return storage_; }
    [[nodiscard]] metrics_type& metrics() noexcept { return metrics_; }
    [[nodiscard]] detail::rng& rng() noexcept { return rng_; }

    /// The engine of type `E`.
    template <class E>
    [[nodiscard]] E& engine() noexcept
    {
        return std::get<E>(engines_);
    }

    template <class E>
    [[nodiscard]] E const& engine() const noexcept
    {
        return std::get<E>(engines_);
    }

private:
    template <class, std::size_t>
    friend class engine_context;

    using transport_set = typename detail::transport_set_of<transports_type>::type;
    template <std::size_t J>
    using transport_at = typename transport_set::template type_at<J>;
    static constexpr std::size_t first_stream = transport_set::template first_of_channel<wire::channel::stream>;

    template <class Env>
    static clock_type make_clock(Env& env, transport_type& t)
    {
        if constexpr (std::constructible_from<clock_type, Env&, transport_type&>)
            return clock_type(env, t);
        else if constexpr (requires { requires std::constructible_from<clock_type, Env&, decltype(t.next_layer())>; })
            return clock_type(env, t.next_layer()); // a wrapping transport (secure_transport): the host is the inner one's
        else
            return clock_type(env);
    }

    /// A new key for a first start: from the seeded generator on a deterministic transport (a run replays), else random.
    security::signing_key new_key()
    {
        // A configured seed is asked for reproducibility: the key follows from it (and is no secret then).
        if (config_.seed || detail::is_deterministic<transport_type>) {
            std::array<std::uint8_t, security::signing_key::seed_size> seed;
            rng_.fill(seed);
            return security::signing_key(seed);
        } else {
            return security::signing_key::generate();
        }
    }

    template <std::size_t... I>
    engines_type make_engines(std::index_sequence<I...>) const
    {
        return engines_type{build_engine<std::tuple_element_t<I, engines_type>>()...};
    }

    /** Builds engine `E`: from its settings in `config_.engines` (`E::config_type`), else from the whole
        `node_config`, else by default.

        A `make_engine(std::type_identity<E>, node_config const&)` found by
        argument-dependent lookup comes first, for an engine that needs more
        than its settings to be built.
    */
    // Not named make_engine: a member of that name would hide the
    // make_engine customisation point from argument-dependent lookup.
    template <class E>
    E build_engine() const
    {
        if constexpr (requires { make_engine(std::type_identity<E>{}, config_); })
            return make_engine(std::type_identity<E>{}, config_);
        else if constexpr (configurable_engine<E>)
            return E(config_.template engine<E>());
        else if constexpr (std::constructible_from<E, node_config const&>)
            return E(config_);
        else
            return E();
    }

    template <class E, std::size_t I = 0>
    static constexpr std::size_t index_of() noexcept
    {
        static_assert(I < std::tuple_size_v<engines_type>, "meshkit: that engine is not in Policies::engines");
        if constexpr (std::is_same_v<std::tuple_element_t<I, engines_type>, E>)
            return I;
        else
            return index_of<E, I + 1>();
    }

    template <std::size_t I = 0>
    static constexpr std::size_t broadcaster_index() noexcept
    {
        if constexpr (I == std::tuple_size_v<engines_type>)
            return I;
        else if constexpr (requires(std::tuple_element_t<I, engines_type>& e, engine_context<basic_node, I>& c,
                                    std::span<std::byte const> p) { e.broadcast(c, p); })
            return I;
        else
            return broadcaster_index<I + 1>();
    }

    template <class F>
    void for_each_engine(F&& f)
    {
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            (f.template operator()<I>(std::get<I>(engines_)), ...);
        }(std::make_index_sequence<std::tuple_size_v<engines_type>>{});
    }

    // -- the engine context's side -------------------------------------------

    template <class M>
    std::error_code send_new(endpoint const& to, M const& m)
    {
        return send_with(to, wire::envelope{M::wire_id, id_, ++next_message_id_, 0}, m);
    }

    /** Sends `m` on the transport `to` names, which must carry `m`'s channel.

        A message kind travels on one channel (`wire::channel_of`) and an
        address belongs to one transport (`endpoint::transport`): a stream
        message to a UDP address, or an address on a transport this node
        lacks, is refused with an error and counted, never sent elsewhere.
    */
    template <class M>
    std::error_code send_with(endpoint const& to, wire::envelope const& header, M const& m)
    {
        constexpr wire::channel channel = wire::channel_of<M>;
        static_assert(channel == wire::channel::datagram || has_streams,
                      "meshkit: an engine sends a stream message (travels_on = wire::channel::stream) but "
                      "Policies::transports names no stream transport (see docs/concepts/stream_transport.md)");
        tx_.clear();
        messages::encode(header, m, tx_);
        std::error_code ec = errc::unknown_transport;
        transports_.with_protocol(to.transport, [&]<std::size_t J>(auto& t) {
            if constexpr (detail::channel_carried_by<transport_at<J>> != channel)
                ec = errc::wrong_channel;
            else if constexpr (channel == wire::channel::stream)
                ec = send_frame<J>(to, tx_);
            else
                ec = send_datagram(t, to, tx_);
        });
        if (ec == errc::unknown_transport || ec == errc::wrong_channel) {
            ++stats_.send_errors;
            metrics_.increment("meshkit_send_errors_total", 1);
            metrics_.increment("meshkit_send_no_transport_total", 1);
        }
        return ec;
    }

    template <class Transport>
    std::error_code send_datagram(Transport& t, endpoint const& to, std::span<std::byte const> datagram)
    {
        if (datagram.size() > t.max_datagram_size()) {
            ++stats_.send_errors;
            metrics_.increment("meshkit_send_errors_total", 1);
            return errc::message_too_large;
        }
        std::error_code ec = t.send(to, datagram);
        if (ec) {
            ++stats_.send_errors;
            metrics_.increment("meshkit_send_errors_total", 1);
            return ec;
        }
        ++stats_.datagrams_sent;
        stats_.bytes_sent += datagram.size();
        metrics_.increment("meshkit_datagrams_sent_total", 1);
        metrics_.increment("meshkit_bytes_sent_total", datagram.size());
        return {};
    }

    template <class T>
    static constexpr bool reports_metrics = requires(T& t, metrics_type& m) { t.report_metrics(m); };
    static constexpr bool transport_reports_metrics = []<std::size_t... J>(std::index_sequence<J...>) {
        return (reports_metrics<transport_at<J>> || ...);
    }(std::make_index_sequence<transport_set::size>{});

    /// Samples the transport's counters every second while running (only for a transport that keeps them).
    void arm_transport_sampling()
    {
        if constexpr (transport_reports_metrics)
            (void)clock_.set_timer(clock_.now() + std::chrono::seconds(1), [this, gen = generation_] {
                if (gen != generation_ || !running_)
                    return;
                sample_transport_metrics();
                arm_transport_sampling();
            });
    }

    template <std::size_t I>
    timer_handle arm_timer(duration after, std::uint64_t tag)
    {
        return clock_.set_timer(clock_.now() + after, [this, tag, gen = generation_] {
            if (gen != generation_ || !running_)
                return;
            in_hook([&] {
                engine_context<basic_node, I> ctx{*this};
                std::get<I>(engines_).on_timer(ctx, tag);
            });
            detail::persist_discovery(discovery_, storage_, clock_.now());
        });
    }

    /// An engine raised `e`: it is delivered when the outermost hook returns.
    template <class E>
    void queue_event(E const& e)
    {
        events_.push(e);
    }

    /// Runs `f` as a hook: events it raises are delivered, in order, when the outermost hook returns.
    template <class F>
    std::invoke_result_t<F&> in_hook(F&& f)
    {
        return events_.run(f, [this](event_type const& e) {
            std::visit([&](auto const& ev) { route_event(ev); }, e);
        });
    }

    template <class E>
    void route_event(E const& e)
    {
        // A node stopped from a handler still tells the application what
        // happened before it stopped, but its engines and discovery rest.
        if (!running_) {
            if (handler_)
                handler_(event_type{e});
            return;
        }
        // Engines hear each other's events first (HyParView's neighbour
        // changes drive Plumtree's tree), then discovery, then the application.
        for_each_engine([&]<std::size_t I>(auto& engine) {
            if constexpr (requires { engine.on_event(std::declval<engine_context<basic_node, I>&>(), e); }) {
                engine_context<basic_node, I> ctx{*this};
                engine.on_event(ctx, e);
            }
        });
        if constexpr (std::is_same_v<E, peer_up>)
            discovery_.report(e.address, contact_outcome::reached);
        else if constexpr (std::is_same_v<E, contact_failed>)
            discovery_.report(e.address, contact_outcome::unreachable);
        else if constexpr (std::is_same_v<E, peers_wanted>)
            for (endpoint const& ep : discovery_.candidates(e.count))
                join(ep);
        if (handler_)
            handler_(event_type{e});
    }

    // -- receiving --------------------------------------------------------

    void on_transport_error(std::error_code const& ec, endpoint const& peer)
    {
        if (!running_)
            return;
        metrics_.increment("meshkit_transport_errors_total", 1);
        // Only "port unreachable" means the peer's process is gone; a local
        // error (message too long) or a transient route error does not.
        in_hook([&] {
            if (!peer.is_unspecified() && ec == std::errc::connection_refused)
                for_each_engine([&]<std::size_t I>(auto& e) {
                    if constexpr (requires { e.on_unreachable(std::declval<engine_context<basic_node, I>&>(), peer); }) {
                        engine_context<basic_node, I> ctx{*this};
                        e.on_unreachable(ctx, peer);
                    }
                });
            queue_event(transport_error{ec, peer});
        });
    }

    /// A birthday probe found a path to `from` (birthday_probe.hpp): engines that asked for one hear it.
    void on_birthday_hit(endpoint const& from, std::uint64_t token)
    {
        if (!running_)
            return;
        in_hook([&] {
            for_each_engine([&]<std::size_t I>(auto& e) {
                if constexpr (requires { e.on_birthday_hit(std::declval<engine_context<basic_node, I>&>(), from, token); }) {
                    engine_context<basic_node, I> ctx{*this};
                    e.on_birthday_hit(ctx, from, token);
                }
            });
        });
    }

    /// One datagram, or one stream frame, from `from` (an address on the transport it came on).
    void on_bytes(endpoint const& from, std::span<std::byte const> bytes, wire::channel channel,
                  std::size_t max_datagram_size = 0, node_id const* authenticated = nullptr)
    {
        if (!running_)
            return;
        bool const on_stream = channel == wire::channel::stream;
        if (on_stream) {
            ++stats_.frames_received;
        } else {
            ++stats_.datagrams_received;
        }
        stats_.bytes_received += bytes.size();
        if (!on_stream && bytes.size() > max_datagram_size) {
            // Nobody meshkit talks to sends more than the limit: refuse it
            // before decoding, so no vector in it can claim more. (A stream
            // transport refuses frames over its limit before reading them.)
            ++stats_.decode_errors;
            metrics_.increment("meshkit_decode_errors_total", 1);
            return;
        }
        metrics_.increment(on_stream ? "meshkit_frames_received_total" : "meshkit_datagrams_received_total", 1);
        metrics_.increment("meshkit_bytes_received_total", bytes.size());
        auto decoded = messages::decode(bytes);
        if (!decoded) {
            ++stats_.decode_errors;
            metrics_.increment("meshkit_decode_errors_total", 1);
            drop_broken_stream(from, on_stream);
            return;
        }
        // A message kind travels on one channel only: a stream message (which
        // may be large) forged into a datagram, or the reverse, is refused.
        bool const right_channel = std::visit([&]<class M>(M const&) { return wire::channel_of<M> == channel; },
                                              decoded->message);
        if (!right_channel) {
            ++stats_.decode_errors;
            metrics_.increment("meshkit_wrong_channel_total", 1);
            drop_broken_stream(from, on_stream);
            return;
        }
        if (authenticated == &self_signed_only_) {
            if (!std::visit([]<class M>(M const&) { return wire::is_self_signed<M>; }, decoded->message)) {
                // Unsealed, from a LAN group: nothing proves who sent a message that does not sign itself.
                ++stats_.decode_errors;
                metrics_.increment("meshkit_unsealed_refused_total", 1);
                return;
            }
        } else if (authenticated && !sender_proven(decoded->header, *authenticated, decoded->message)) {
            // The session proved who sent this datagram; the envelope says otherwise.
            ++stats_.decode_errors;
            metrics_.increment("meshkit_sender_mismatch_total", 1);
            drop_broken_stream(from, on_stream);
            return;
        }
        inbound const in{from, decoded->header, channel};
        in_hook([&] { dispatch(in, decoded->message); });
        detail::persist_discovery(discovery_, storage_, clock_.now());
    }

    /** Whether an envelope agrees with the peer its session proved.

        A message comes straight from its sender (hops 0, sender the peer),
        unless its kind may be forwarded (`wire::may_be_forwarded`): then
        one with hops may name its origin instead.
    */
    template <class Variant>
    static bool sender_proven(wire::envelope const& header, node_id const& peer, Variant const& message)
    {
        if (peer.is_zero())
            return false; // no session: the transport would not have delivered it
        bool const forwardable = std::visit([]<class M>(M const&) { return wire::may_be_forwarded<M>; }, message);
        if (header.hops == 0)
            return header.sender == peer;
        return forwardable;
    }

    /** A stream whose peer sent a frame that is no message of this node's (or a datagram's message) is
        closed: on an ordered, reliable stream nothing after it can be trusted to line up. Only that
        stream goes (its engines see `stream_ended`); counted in `meshkit_streams_closed_malformed_total`.
    */
    void drop_broken_stream(endpoint const& from, bool on_stream)
    {
        if (on_stream && close_stream(from))
            metrics_.increment("meshkit_streams_closed_malformed_total", 1);
    }

    /** Closes the stream to `peer` on the transport it names; `stream_ended{closed_locally}` follows.

        @return false when the node holds no stream to `peer` (or `peer` is no stream address).
    */
    bool close_stream(endpoint const& peer)
    {
        bool closed = false;
        transports_.with_protocol(peer.transport, [&]<std::size_t J>(auto& t) {
            if constexpr (detail::channel_carried_by<transport_at<J>> == wire::channel::stream)
                closed = std::get<J>(stream_tables_).close(t, peer);
        });
        return closed;
    }

    /// Sends an encoded stream message on stream transport `J`'s stream to `to`, opening it on first use.
    template <std::size_t J>
    std::error_code send_frame(endpoint const& to, std::span<std::byte const> frame)
    {
        std::error_code const ec = std::get<J>(stream_tables_).send(transports_.template get<J>(), to, frame);
        if (ec) {
            ++stats_.send_errors;
            metrics_.increment("meshkit_send_errors_total", 1);
            return ec;
        }
        ++stats_.frames_sent;
        stats_.bytes_sent += frame.size();
        metrics_.increment("meshkit_frames_sent_total", 1);
        metrics_.increment("meshkit_bytes_sent_total", frame.size());
        return {};
    }

    template <std::size_t J>
    void on_stream_event(stream_event const& e)
    {
        auto& streams = transports_.template get<J>();
        auto& table = std::get<J>(stream_tables_);
        if (auto const* f = std::get_if<stream_frame>(&e)) {
            auto const peer = table.peer_of(f->id);
            if (!peer)
                return;
            // On a secure stream transport, the node its handshake proved: every frame's envelope must agree.
            std::optional<node_id> proven_id;
            node_id const* proven = nullptr;
            if constexpr (requires { streams.authenticated_peer(f->id); })
                if (streams.authenticates()) {
                    proven_id = streams.authenticated_peer(f->id);
                    proven = proven_id ? &*proven_id : &unauthenticated_;
                }
            on_bytes(peer->on(detail::protocol_of<transport_at<J>>), f->bytes, wire::channel::stream,
                     0, proven);
            return;
        }
        if (!running_) {
            // A stopped node keeps its table right, but tells nobody.
            if (auto const* c = std::get_if<stream_closed>(&e))
                (void)table.on_closed(c->id);
            else if (auto const* o = std::get_if<stream_connected>(&e))
                (void)table.on_connected(streams, *o);
            return;
        }
        in_hook([&] {
            if (auto const* c = std::get_if<stream_connected>(&e)) {
                if (auto const peer = table.on_connected(streams, *c))
                    queue_event(stream_opened{*peer, c->inbound});
            } else if (auto const* w = std::get_if<stream_writable>(&e)) {
                table.on_writable(streams, w->id);
            } else if (auto const* closed = std::get_if<stream_closed>(&e)) {
                if (auto const gone = table.on_closed(closed->id)) {
                    if (gone->unsent != 0)
                        metrics_.increment("meshkit_frames_unsent_total", gone->unsent);
                    queue_event(stream_ended{gone->peer, closed->reason, gone->unsent});
                }
            }
        });
    }

    template <class Message>
    void dispatch(inbound const& in, Message const& message)
    {
        // The hook is about datagrams: a stream frame's address (an ephemeral
        // port on an inbound stream) is no address to ping or probe.
        if (in.channel == wire::channel::datagram)
            for_each_engine([&]<std::size_t I>(auto& e) {
                if constexpr (requires { e.on_datagram(std::declval<engine_context<basic_node, I>&>(), in); }) {
                    engine_context<basic_node, I> ctx{*this};
                    e.on_datagram(ctx, in);
                }
            });
        std::visit(
            [&]<class M>(M const& m) {
                constexpr std::size_t owner = detail::owner_of<M, engines_type>();
                using owner_type = std::tuple_element_t<owner, engines_type>;
                engine_context<basic_node, owner> ctx{*this};
                if constexpr (requires(owner_type& e) { e.on_message(ctx, in, m); })
                    std::get<owner>(engines_).on_message(ctx, in, m);
                else
                    static_assert(sizeof(M) == 0, "meshkit: an engine registers a message type it has no "
                                                  "on_message(ctx, inbound const&, M const&) for "
                                                  "(see docs/concepts/engine.md)");
            },
            message);
    }

    node_config config_;
    transport_set transports_;
    clock_type clock_;
    [[no_unique_address]] discovery_type discovery_;
    [[no_unique_address]] hierarchy_type hierarchy_;
    [[no_unique_address]] storage_type storage_;
    [[no_unique_address]] metrics_type metrics_;
    engines_type engines_;
    detail::rng rng_;
    node_id id_{};
    /// The node's key, on a secure node.
    std::optional<security::signing_key> key_;
    /// What a secure transport's datagram from an address with no session is attributed to (never a valid id).
    static inline node_id const unauthenticated_{};
    /// Stands for "no session, but a group datagram": only `wire::is_self_signed` kinds pass (told apart by address).
    static inline node_id const self_signed_only_{};
    std::uint64_t incarnation_ = 0;
    std::uint64_t next_message_id_ = 0;
    std::uint64_t generation_ = 0;
    bool running_ = false;
    std::error_code discovery_load_error_;
    node_stats stats_;
    std::vector<std::byte> tx_;
    /// Per transport: the streams open on it (nothing for a datagram transport).
    typename detail::stream_tables_of<transports_type>::type stream_tables_;
    std::function<void(event_type const&)> handler_;
    /// Raised inside hooks, waiting for the outermost one to return.
    detail::event_queue<event_type> events_;
};

} // namespace meshkit

#endif // MESHKIT_NODE_HPP

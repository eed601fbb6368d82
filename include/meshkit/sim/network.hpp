// sim/network.hpp
// ~~~~~~~~~~~~~~~
#ifndef MESHKIT_SIM_NETWORK_HPP
#define MESHKIT_SIM_NETWORK_HPP

#include <meshkit/concepts/clock.hpp>
#include <meshkit/concepts/transport.hpp>
#include <meshkit/detail/hash.hpp>
#include <meshkit/detail/rng.hpp>
#include <meshkit/endpoint.hpp>
#include <meshkit/error.hpp>
#include <meshkit/result.hpp>
#include <meshkit/sim/link_model.hpp>
#include <meshkit/sim/nat_box.hpp>
#include <meshkit/stream_error.hpp>
#include <meshkit/stream_events.hpp>
#include <meshkit/stream_settings.hpp>
#include <meshkit/time.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <span>
#include <system_error>
#include <boost/heap/d_ary_heap.hpp>
#include <boost/unordered/unordered_flat_map.hpp>

#include <deque>
#include <map>
#include <memory>
#include <unordered_map>
#include <vector>

namespace meshkit::sim {

/// Index of a host attached to a `sim::network`.
using host_id = std::uint32_t;

/// Index of a NAT box in a `sim::network`.
using nat_id = std::uint32_t;

/// Counters a `sim::network` keeps about everything it did.
struct network_stats {
    std::uint64_t events = 0;             ///< events processed (deliveries, drops at delivery, timers)
    std::uint64_t sent = 0;               ///< datagrams accepted by `send`
    std::uint64_t delivered = 0;          ///< datagrams handed to a receive handler
    std::uint64_t bytes_delivered = 0;    ///< payload bytes handed to receive handlers
    std::uint64_t lost = 0;               ///< dropped by the link's loss probability
    std::uint64_t duplicated = 0;         ///< extra copies created by the duplicate probability
    std::uint64_t partitioned = 0;        ///< dropped because a partition separated the hosts
    std::uint64_t unreachable = 0;        ///< dropped because nothing live was bound at the address
    std::uint64_t nat_dropped = 0;        ///< dropped by a NAT: no mapping, filtered, or hairpinning off
    std::uint64_t timers_fired = 0;       ///< timer callbacks run
    std::uint64_t streams_opened = 0;     ///< connection attempts a stream listener accepted
    std::uint64_t streams_refused = 0;    ///< connection attempts refused: no stream listener at the address
    std::uint64_t streams_unreachable = 0; ///< connection attempts that timed out unanswered
    std::uint64_t streams_reset = 0;      ///< stream ends closed by a reset (crash, partition, address change, bad frame)
    std::uint64_t frames_sent = 0;        ///< stream frames accepted by `send_stream`
    std::uint64_t frames_delivered = 0;   ///< stream frames handed to a stream handler
    std::uint64_t frame_bytes_delivered = 0; ///< payload bytes of those frames
    std::uint64_t oversized_frames = 0;   ///< frames over the receiver's `max_frame_size` (each resets its stream)
};

/** A deterministic discrete-event network of datagrams and streams, with its own virtual clock.

    Every host, datagram, stream and timer of a simulation lives here. Nothing
    happens until the owner drives the network with `advance`, `run_until`
    or `run_until_idle`; each processes events in (time, insertion order), so
    one seed and one sequence of calls always give the same trace, which
    `trace_hash()` summarises bit for bit.

    Faults are first-class: per-link loss, duplication, jitter and reordering
    (`link_model`), partitions and healing, host crash and restart, and
    address changes. Streams (`sim::stream_transport`) are ordered and
    reliable, cost a round trip to open, are paced by the link's bandwidth,
    and are reset by a crash, a partition or an address change.

    @par Thread safety
    <em>Distinct objects</em>: Safe. <em>Shared objects</em>: Unsafe. A
    simulation runs on one thread; run several networks for parallelism.

    @par Example
    @code
    meshkit::sim::network net{42};
    meshkit::sim::transport a{net}, b{net};
    b.on_receive([](meshkit::endpoint const& from, std::span<std::byte const> d) { ... });
    a.send(b.local_endpoint(), bytes);
    net.advance(std::chrono::seconds(1));
    @endcode
*/
class network {
public:
    /// Creates an empty network whose every random choice derives from `seed`.
    explicit network(std::uint64_t seed, link_model default_link = {});

    /// The owner of timers that belong to no host.
    static constexpr host_id no_host = std::numeric_limits<host_id>::max();

    network(network const&) = delete;
    network& operator=(network const&) = delete;

    // -- time ---------------------------------------------------------------

    /// The virtual time: starts at zero, moves only when the network is driven.
    [[nodiscard]] time_point now() const noexcept { return now_; }

    /// Runs every event due up to `now() + d`, then sets the clock to that time.
    std::size_t advance(duration d);

    /// Runs every event due up to `t` (if `t` is in the future), then sets the clock to `t`.
    std::size_t run_until(time_point t);

    /** Runs events until none are pending or `max_events` have run.

        A node with periodic timers is never idle, so pass a bound when such
        nodes exist. @return the number of events run.
    */
    std::size_t run_until_idle(std::size_t max_events = std::numeric_limits<std::size_t>::max());

    /// Runs the next event, if any. @return false when nothing was pending.
    bool step();

    /// Events (datagrams and stream segments in flight, armed timers) waiting to run.
    [[nodiscard]] std::size_t pending() const noexcept { return heap_.size(); }

    /** How far one host's clock is from the network's: an offset, and a rate error.

        Real hosts' monotonic clocks count from their own boot and tick at
        slightly different rates (tens of ppm is common). A host's clock
        reads `offset + t * (1 + drift_ppm / 1e6)` at network time `t`.
    */
    struct clock_skew {
        duration offset{};
        double drift_ppm = 0;
    };

    /** Gives the host bound at `at` (now, or later) a clock of its own.

        Set it before the host's node is built: a clock that jumps under a
        running node is a different experiment. The host keeps the skew when
        it crashes, restarts or moves.
    */
    void set_clock_skew(endpoint const& at, clock_skew skew);

    /// What host `h`'s own clock reads now.
    [[nodiscard]] time_point host_now(host_id h) const noexcept;

    /// The earliest network time at which host `h`'s clock reads `local` or later.
    [[nodiscard]] time_point network_time(host_id h, time_point local) const noexcept;

    // -- hosts --------------------------------------------------------------

    /// A fresh endpoint, 10.x.y.z:7000, never handed out before by this network.
    [[nodiscard]] endpoint next_endpoint() noexcept;

    /** Attaches a host at `at`, reusing the slot of a host unbound from there.

        @return the host, or `errc::address_in_use` when a bound host (even a
        crashed one) owns `at`.
    */
    [[nodiscard]] result<host_id> bind(endpoint const& at, receive_handler handler);

    /// Sets what runs when `restart` brings host `h` back (its owner re-arms timers there).
    void on_restart(host_id h, std::function<void()> fn)
    {
        if (restart_hooks_.size() <= h)
            restart_hooks_.resize(h + 1);
        restart_hooks_[h] = std::move(fn);
    }

    /// Detaches a host: its address becomes free and its timers never fire.
    void unbind(host_id h) noexcept;

    /// The address a host is bound at now.
    [[nodiscard]] endpoint const& address_of(host_id h) const noexcept { return hosts_[h].address; }

    /// Hands a datagram from host `from` to the link towards `to`. See `transport::send`.
    std::error_code send(host_id from, endpoint const& to, std::span<std::byte const> bytes);

    /** Makes the host at `member` hear multicast group `group` (an IPv4 address in 224.0.0.0/4, any port).

        A datagram sent to `group` is sent once to each member but its
        sender, each copy over that member's own link (its latency, loss and
        partitions): a LAN's multicast, or a radio net where a scenario
        makes one group per area. Membership belongs to the address, so it
        survives crashes and is lost with a move.
    */
    void join_group(endpoint const& group, endpoint const& member);

    /// Stops `member` hearing `group`; a no-op when it did not.
    void leave_group(endpoint const& group, endpoint const& member) noexcept;

    /// Arms a timer owned by `owner` (or by nobody: `no_host`); it dies with its host's crash or unbind.
    timer_handle set_timer(host_id owner, time_point at, timer_callback cb);

    /// Disarms a timer; a no-op when it already fired or was cancelled.
    void cancel_timer(timer_handle h) noexcept;

    /// The largest datagram `send` accepts; 1,200 bytes by default, as on the real network.
    [[nodiscard]] std::size_t max_datagram_size() const noexcept { return max_datagram_; }
    void set_max_datagram_size(std::size_t n) noexcept { max_datagram_ = n; }

    // -- NATs ---------------------------------------------------------------

    /** Adds a NAT box with a fresh external address.

        @param behind the NAT whose private side the new box's external
        address is on (CGNAT: a home NAT behind a carrier NAT), or nothing
        for a box on the public network.
    */
    nat_id add_nat(nat_config const& cfg, std::optional<nat_id> behind = std::nullopt);

    /// A fresh private address behind `nat`, for a host (or another NAT) to bind.
    [[nodiscard]] endpoint next_endpoint_behind(nat_id nat);

    /// The box, for its configuration and counters.
    [[nodiscard]] nat_box const& nat(nat_id id) const noexcept { return nats_[id]; }

    /// The box's external address (port 0).
    [[nodiscard]] endpoint nat_address(nat_id id) const noexcept { return endpoint::v4(nats_[id].external_ip(), 0); }

    // -- faults -------------------------------------------------------------

    /// Sets the model used by every link without an override.
    void set_default_link(link_model const& m) noexcept { default_link_ = m; }

    /// Overrides the model of the link between `a` and `b`, in both directions.
    void set_link(endpoint const& a, endpoint const& b, link_model const& m);

    /** Replaces every link's drawn base latency with `map(a, b, now)`: one-way latency from `a` to `b` now.

        For latency with a structure (hosts placed on a map, regions) and
        latency that drifts over time. `map` must be a pure function of its
        arguments so that runs replay; jitter, loss and the rest still come
        from each link's model. Streams stay in order when a path shortens.
    */
    void set_latency_map(std::function<duration(endpoint const&, endpoint const&, time_point)> map)
    {
        latency_map_ = std::move(map);
    }

    /** Splits the hosts into groups that cannot reach each other.

        Hosts not named in any group form one further group. Datagrams sent
        across a boundary are lost, and so are those in flight across a new
        one, as on a real cut.
    */
    void partition(std::vector<std::vector<endpoint>> const& groups);

    /// Removes every partition.
    void heal() noexcept;

    /** Shows every delivered datagram to `tap(from, to, bytes)` before its receiver sees it.

        For tests that must check every message every node receives (what
        an address-sharing rule promises, for one). `to` is the receiving
        host's own address, after any NAT.
    */
    void set_tap(std::function<void(endpoint const&, endpoint const&, std::span<std::byte const>)> tap)
    {
        tap_ = std::move(tap);
    }

    /// Stops a host: it receives nothing, its timers never fire, its sends fail.
    void crash(endpoint const& at) noexcept;

    /// Starts a crashed host again and runs its restart hook (a `basic_node` restarts its engines).
    void restart(endpoint const& at);

    /// True when a live host is bound at `at`.
    [[nodiscard]] bool is_up(endpoint const& at) const noexcept;

    /** Moves a host to a new address, as a NAT rebinding or network change would.

        Datagrams sent to the old address afterwards are lost.
        @return `errc::host_unreachable` if nothing is bound at `from`,
        `errc::address_in_use` if something is bound at `to`.
    */
    std::error_code rebind(endpoint const& from, endpoint const& to);

    // -- observation --------------------------------------------------------

    /// Everything counted so far.
    [[nodiscard]] network_stats const& stats() const noexcept { return stats_; }

    /// An order-sensitive hash of every event processed: equal seeds and calls give equal hashes.
    [[nodiscard]] std::uint64_t trace_hash() const noexcept { return trace_; }

    /// The seed the network was created with.
    [[nodiscard]] std::uint64_t seed() const noexcept { return seed_; }

    /// The network's generator, for scenario code that must stay on the same seed.
    [[nodiscard]] detail::rng& rng() noexcept { return rng_; }

    /// The base one-way latency of the link from `a` to `b`, before jitter.
    [[nodiscard]] duration link_latency(endpoint const& a, endpoint const& b) const noexcept;

    // -- streams ------------------------------------------------------------
    //
    // The network side of `sim::stream_transport`, which is the way to use
    // them. Each stream is two ends; an end's id is `2 * connection + side`
    // (side 0 connected, side 1 accepted), so ids are never reused in a
    // network's life. The model is described in docs/simulator.md#streams.

    /** Attaches a stream listener to the host at `at`, or to a new host there.

        A `sim::transport` bound at `at` and the listener are one machine:
        they share the address, crash, restart, partition and move together.
        @return the host, or `errc::address_in_use` when a listener is
        attached there already.
    */
    [[nodiscard]] result<host_id> attach_streams(endpoint const& at, stream_settings const& settings,
                                                 stream_handler handler);

    /** Detaches host `h`'s stream listener; it hears nothing more.

        Its open streams close gracefully towards their peers (frames already
        sent arrive, then `closed_by_peer`), as when a process closes its
        sockets. The host is unbound when no `sim::transport` shares it.
    */
    void detach_streams(host_id h) noexcept;

    /// Replaces host `h`'s stream handler.
    void set_stream_handler(host_id h, stream_handler handler);

    /// Starts a stream from host `from` to `to`; see `sim::stream_transport::connect`.
    stream_id connect_stream(host_id from, endpoint const& to);

    /// Queues one frame on host `from`'s end `id`; see `sim::stream_transport::send`.
    std::error_code send_stream(host_id from, stream_id id, std::span<std::byte const> frame);

    /// Closes host `from`'s end `id`; see `sim::stream_transport::close`.
    void close_stream(host_id from, stream_id id);

    /// Bytes (frames plus their 4-byte headers) queued on host `from`'s end `id` and not yet on the wire.
    [[nodiscard]] std::size_t stream_queued_bytes(host_id from, stream_id id) const noexcept;

    /// Stream ends on host `h` that are connecting or open.
    [[nodiscard]] std::size_t open_streams(host_id h) const noexcept;

    /// The settings host `h`'s stream listener was attached with.
    [[nodiscard]] stream_settings const& stream_settings_of(host_id h) const noexcept
    {
        return stream_hosts_[h].settings;
    }

private:
    enum class event_kind : std::uint8_t { datagram, timer, stream };

    // 16 bytes, so four events share a cache line in the heap. `order` packs
    // the insertion sequence (high 32 bits), the kind (2 bits) and the slot
    // (30 bits): ties at equal times resolve by insertion order. The sequence
    // wraps after 2^32 events; ties then still resolve deterministically.
    struct event {
        std::int64_t at;
        std::uint64_t order;
        [[nodiscard]] std::uint32_t slot() const noexcept { return static_cast<std::uint32_t>(order & 0x3fffffffu); }
        [[nodiscard]] event_kind kind() const noexcept { return static_cast<event_kind>((order >> 30) & 3u); }
    };

    struct later {
        bool operator()(event const& a, event const& b) const noexcept
        {
            return a.at != b.at ? a.at > b.at : a.order > b.order;
        }
    };

    // Where an address lives: the public network, or the private side of a NAT.
    static constexpr std::int32_t public_realm = -1;

    // Touched on every delivery: keep it small (cold state lives in side tables).
    struct host {
        endpoint address;
        receive_handler handler;
        std::int32_t realm = public_realm;
        std::uint32_t incarnation = 0;
        std::uint32_t group = 0;
        bool bound = false;     // a datagram socket or a stream listener is attached
        bool up = false;
        bool datagrams = false; // a datagram socket (`sim::transport`) is attached
        bool streams = false;   // a stream listener (`sim::stream_transport`) is attached
    };

    // Small datagrams (most protocol traffic) live inline in the slot, which
    // saves a cache miss per delivery; larger ones use the slot's vector,
    // whose capacity is reused.
    static constexpr std::size_t inline_bytes = 96;

    struct packet {
        host_id from = 0;
        host_id to_host = 0;
        std::int32_t origin_realm = public_realm;
        endpoint from_address;
        endpoint to;
        std::uint32_t size = 0;
        std::array<std::byte, inline_bytes> small;
        std::vector<std::byte> large;

        [[nodiscard]] std::span<std::byte const> bytes() const noexcept
        {
            return size <= inline_bytes ? std::span<std::byte const>(small.data(), size)
                                        : std::span<std::byte const>(large);
        }
    };

    struct timer_slot {
        timer_callback callback;
        host_id owner = 0;
        std::uint32_t incarnation = 0;
        std::uint32_t generation = 0;
        bool armed = false;
    };

    time_point local_time(host_id h, time_point t) const noexcept;
    link_model const& model_for(std::uint64_t pair) const noexcept;
    static std::uint64_t pair_key(endpoint const& a, endpoint const& b) noexcept;
    void push(std::int64_t at, std::uint32_t slot, event_kind kind);
    void enqueue_packet(host_id from, endpoint const& source, host_id to_host, endpoint const& to,
                        std::span<std::byte const> bytes, duration delay);
    std::int32_t realm_of(endpoint const& address) const noexcept;
    bool within(std::int32_t outer, std::int32_t realm) const noexcept;
    std::optional<endpoint> translate_out(host const& h, endpoint const& to);
    std::optional<endpoint> translate_in(packet const& p);
    host_id resolve(endpoint const& to) const noexcept;
    std::uint32_t take_packet_slot();
    void process(event const& e);
    void deliver(std::uint32_t slot);
    void fire(std::uint32_t slot);

    // -- stream model (sim/impl/network_streams.hpp) --------------------------

    enum class stream_phase : std::uint8_t { none, connecting, open, closed };

    // What an item on the heap carries to one end of a connection.
    enum class segment : std::uint8_t { syn, syn_ack, refuse, connect_timeout, frame, fin, rst, closed, writable };

    struct stream_end {
        host_id host = no_host;
        stream_phase phase = stream_phase::none;
        bool reported = true;          // no stream_closed is owed to the owner
        bool want_writable = false;    // a send was refused with queue_full
        bool writable_pending = false; // a writable item is on the heap
        std::error_code reason;        // why it closed
        endpoint peer;                 // where the other end is seen from here
        std::size_t refused_cost = 0;  // the largest frame (with header) refused this spell
        std::size_t queued = 0;        // the bytes in `sending`
        std::int64_t last_arrival = 0; // when the last frame or fin sent towards this end arrives
        // Frames (done time, bytes with header) whose transmission ends after some past `now`.
        std::deque<std::pair<std::int64_t, std::size_t>> sending;
    };

    struct stream_conn {
        std::array<stream_end, 2> ends; // 0: the side that connected, 1: the side that accepted
        endpoint target;                // the address `connect_stream` was given
    };

    struct stream_item {
        segment kind = segment::frame;
        std::uint8_t side = 0; // the end it is for
        std::uint64_t conn = 0;
        std::vector<std::byte> bytes;
    };

    struct stream_host {
        std::shared_ptr<stream_handler const> handler; // copied per call: a handler may replace or destroy it
        stream_settings settings;
        bool attached = false;
    };

    static constexpr stream_id make_stream_id(std::uint64_t conn, unsigned side) noexcept
    {
        return static_cast<stream_id>(conn * 2 + side);
    }
    stream_end* find_end(host_id owner, stream_id id) noexcept;
    std::size_t queued_on(stream_end const& e) const noexcept;
    duration stream_latency(host_id a, host_id b) const noexcept;
    static std::int64_t in_order_arrival(stream_end& to, std::int64_t at) noexcept;
    std::int64_t transmit(host_id from, host_id to, std::size_t bytes); // returns when the last byte leaves
    void push_segment(std::int64_t at, segment kind, std::uint64_t conn, unsigned side,
                      std::span<std::byte const> bytes = {});
    void close_end(std::uint64_t conn, unsigned side, std::error_code reason, bool notify);
    void abort_towards(std::uint64_t conn, unsigned side, std::int64_t delay); // rst to `side` if it is live
    void finish_towards(std::uint64_t conn, unsigned side);                    // in-band fin to `side` if live
    void schedule_writable(std::uint64_t conn, unsigned side);
    void drain(stream_end& e) noexcept;
    void emit_stream(host_id h, stream_event const& ev);
    bool stream_routable(host_id from, host_id to) const noexcept;
    endpoint seen_address(host_id from, host_id to, std::uint64_t conn) const noexcept;
    void streams_on_crash(host_id h);
    void streams_on_restart(host_id h);
    void streams_on_partition();
    void streams_on_rebind(host_id h);
    void process_stream(std::uint32_t slot);
    void sweep_streams();

    std::uint64_t seed_;
    detail::rng rng_;
    link_model default_link_;
    std::function<duration(endpoint const&, endpoint const&, time_point)> latency_map_;
    time_point now_{};
    std::uint64_t next_seq_ = 0;
    std::uint64_t next_address_ = 0;
    std::size_t max_datagram_ = 1200;
    std::uint64_t trace_;
    network_stats stats_;

    // A 4-ary heap: the four children of a node fill one 64-byte cache line,
    // and the tree is half as deep as a binary heap's. It is the difference
    // between cache-resident and cache-missing pops at 10,000 hosts.
    boost::heap::d_ary_heap<event, boost::heap::arity<4>, boost::heap::compare<later>> heap_;
    std::vector<host> hosts_;
    std::vector<std::function<void()>> restart_hooks_; // by host; rarely set, never on the hot path
    std::vector<clock_skew> host_clocks_;              // by host; empty unless a test skews a clock
    // A host is a machine, named by its IP and port: `tcp://` and UDP
    // addresses of one IP and port name the same host (its stream listener
    // and its datagram socket), so host lookups ignore the transport.
    struct host_address_hash {
        std::size_t operator()(endpoint const& e) const noexcept
        {
            return std::hash<endpoint>{}(e.on(transport_protocol::udp));
        }
    };
    struct host_address_equal {
        bool operator()(endpoint const& a, endpoint const& b) const noexcept
        {
            return a.on(transport_protocol::udp) == b.on(transport_protocol::udp);
        }
    };
    boost::unordered_flat_map<endpoint, clock_skew, host_address_hash, host_address_equal>
        pending_clocks_; // for hosts not bound yet
    boost::unordered_flat_map<endpoint, host_id, host_address_hash, host_address_equal> by_address_;
    std::vector<packet> packets_;
    std::vector<std::uint32_t> free_packets_;
    std::vector<timer_slot> timers_;
    std::vector<std::uint32_t> free_timers_;
    boost::unordered_flat_map<std::uint64_t, link_model> link_overrides_;
    bool partitioned_ = false;
    std::function<void(endpoint const&, endpoint const&, std::span<std::byte const>)> tap_;
    // Multicast groups and their members' addresses, in the order they joined (deterministic fan-out).
    boost::unordered_flat_map<endpoint, std::vector<endpoint>, std::hash<endpoint>> groups_;

    // Streams: connections by number (ordered, so every sweep over them is
    // deterministic), items on the heap, listeners by host, and when each
    // directed host pair's link is next free.
    std::map<std::uint64_t, stream_conn> conns_;
    std::uint64_t next_conn_ = 1;
    std::vector<stream_item> stream_items_;
    std::vector<std::uint32_t> free_stream_items_;
    std::vector<stream_host> stream_hosts_;
    boost::unordered_flat_map<std::uint64_t, std::int64_t> link_free_at_;
    std::vector<std::uint64_t> stream_garbage_;

    std::vector<nat_box> nats_;
    std::vector<std::int32_t> nat_realm_; // where each box's external address lives
    boost::unordered_flat_map<std::uint32_t, nat_id> nat_by_ip_;
    boost::unordered_flat_map<std::uint32_t, std::int32_t> private_realm_;
    std::uint32_t next_private_ = 0;
};

} // namespace meshkit::sim

#include <meshkit/sim/impl/network.hpp>
#include <meshkit/sim/impl/network_streams.hpp>

#endif // MESHKIT_SIM_NETWORK_HPP

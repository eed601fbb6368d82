// meshkit-bench-udp: broadcast throughput of real meshkit nodes on loopback
// UDP, side by side with raw UDP on the same machine in the same run.
//
// For each payload size: first a raw baseline (one sender thread, one
// receiver thread, sendmmsg/recvmmsg in batches of 32 on 127.0.0.1), then
// for each overlay size N a mesh of N `udp_node`s (HyParView + Plumtree),
// each on its own thread and io_context. Node 0 listens, the others join
// it; once every node has an active neighbour node 0 publishes as fast as
// the node takes payloads (it stops on `errc::queue_full` and resumes on
// `broadcast::ready_to_publish`), then the run waits a bounded time for
// repair to finish. Each receiver counts first deliveries of node 0's
// broadcasts, its own broadcasts delivered back to it, and keys delivered
// twice.
//
//   meshkit-bench-udp [--seconds S] [--nodes 2,4,16] [--payloads 64,1000] [--json FILE]

#include <common/cli.hpp>
#include <common/report.hpp>

#include <meshkit/broadcast/ready_to_publish.hpp>
#include <meshkit/udp/udp_policies.hpp>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

#include <arpa/inet.h>
#include <cerrno>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <variant>
#include <vector>

namespace {

using namespace meshkit;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

double seconds_between(steady::time_point a, steady::time_point b)
{
    return std::chrono::duration<double>(b - a).count();
}

steady::duration steady_of(double seconds)
{
    return std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(seconds));
}

/// Whether variant `V` has `T` among its alternatives.
template <class V, class T>
struct has_alternative : std::false_type {};
template <class... Ts, class T>
struct has_alternative<std::variant<Ts...>, T> : std::bool_constant<(std::is_same_v<Ts, T> || ...)> {};

/// Whether the node tells its handler when it takes broadcasts again after `queue_full`.
constexpr bool node_signals_ready = has_alternative<udp_node::event_type, broadcast::ready_to_publish>::value;

/// Whether a transport keeps counters (`udp::transport::stats()`).
template <class Transport>
constexpr bool has_transport_stats = requires(Transport& t) { t.stats(); };

// Adds `s.field` to `sums[field]` when the counter exists: the counters are
// still growing, and the bench reports whichever the build has.
#define MESHKIT_BENCH_SUM(sums, s, field)                                                                             \
    if constexpr (requires { s.field; })                                                                              \
    sums[#field] = sums.value(#field, std::uint64_t{0}) + static_cast<std::uint64_t>(s.field)

template <class Stats>
void sum_broadcast_stats(tools::figures& sums, Stats const& s)
{
    MESHKIT_BENCH_SUM(sums, s, payloads_received);
    MESHKIT_BENCH_SUM(sums, s, first_receipts);
    MESHKIT_BENCH_SUM(sums, s, duplicates);
    MESHKIT_BENCH_SUM(sums, s, payloads_sent);
    MESHKIT_BENCH_SUM(sums, s, announcements_sent);
    MESHKIT_BENCH_SUM(sums, s, grafts_sent);
    MESHKIT_BENCH_SUM(sums, s, prunes_sent);
    MESHKIT_BENCH_SUM(sums, s, publish_refused);
    MESHKIT_BENCH_SUM(sums, s, own_returned);
    MESHKIT_BENCH_SUM(sums, s, too_old);
    MESHKIT_BENCH_SUM(sums, s, ids_evicted_early);
    MESHKIT_BENCH_SUM(sums, s, repair_evicted_early);
    MESHKIT_BENCH_SUM(sums, s, graft_misses);
    MESHKIT_BENCH_SUM(sums, s, eager_overflow);
    MESHKIT_BENCH_SUM(sums, s, graft_replies_dropped);
    MESHKIT_BENCH_SUM(sums, s, queued_dropped);
    MESHKIT_BENCH_SUM(sums, s, missing_overflow);
    MESHKIT_BENCH_SUM(sums, s, hop_limited);
}

template <class Transport>
void sum_transport_stats(tools::figures& sums, Transport& t)
{
    if constexpr (has_transport_stats<Transport>) {
        auto const s = t.stats();
        MESHKIT_BENCH_SUM(sums, s, datagrams_received);
        MESHKIT_BENCH_SUM(sums, s, datagrams_sent);
        MESHKIT_BENCH_SUM(sums, s, receive_batches);
        MESHKIT_BENCH_SUM(sums, s, send_batches);
        MESHKIT_BENCH_SUM(sums, s, kernel_receive_drops);
        MESHKIT_BENCH_SUM(sums, s, truncated);
        MESHKIT_BENCH_SUM(sums, s, send_dropped);
    }
}

#undef MESHKIT_BENCH_SUM

/// A summed counter as a table cell, "n/a" when this build has no such counter.
std::string counter_cell(tools::figures const& sums, char const* key)
{
    return sums.contains(key) ? std::to_string(sums[key].get<std::uint64_t>()) : "n/a";
}

// -- raw UDP -----------------------------------------------------------------

/// A file descriptor closed on scope exit.
struct fd_guard {
    int fd = -1;
    ~fd_guard()
    {
        if (fd >= 0)
            ::close(fd);
    }
};

struct raw_outcome {
    std::uint64_t sent = 0;
    std::uint64_t received = 0;
    double seconds = 0;
    std::string error;
};

bool set_timeout(int fd, int option, std::chrono::microseconds t)
{
    ::timeval tv{};
    tv.tv_sec = static_cast<time_t>(t.count() / 1'000'000);
    tv.tv_usec = static_cast<suseconds_t>(t.count() % 1'000'000);
    return ::setsockopt(fd, SOL_SOCKET, option, &tv, sizeof tv) == 0;
}

/** One sender thread and one receiver thread on 127.0.0.1, batches of 32, for `seconds`.

    Default socket buffers, as meshkit's transport uses. The receiver keeps
    reading after the sender stops until its queue is empty (at most 1 s).
*/
raw_outcome raw_udp(std::size_t payload_size, double seconds)
{
    constexpr unsigned batch = 32;
    raw_outcome out;
    fd_guard rx{::socket(AF_INET, SOCK_DGRAM, 0)};
    fd_guard tx{::socket(AF_INET, SOCK_DGRAM, 0)};
    if (rx.fd < 0 || tx.fd < 0) {
        out.error = std::string("socket: ") + std::strerror(errno);
        return out;
    }
    ::sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::socklen_t len = sizeof addr;
    if (::bind(rx.fd, reinterpret_cast<::sockaddr const*>(&addr), sizeof addr) != 0 ||
        ::getsockname(rx.fd, reinterpret_cast<::sockaddr*>(&addr), &len) != 0 ||
        ::connect(tx.fd, reinterpret_cast<::sockaddr const*>(&addr), sizeof addr) != 0 ||
        !set_timeout(rx.fd, SO_RCVTIMEO, 50ms) || !set_timeout(tx.fd, SO_SNDTIMEO, 50ms)) {
        out.error = std::string("raw UDP setup: ") + std::strerror(errno);
        return out;
    }

    std::atomic<bool> sender_done{false};
    std::uint64_t sent = 0, received = 0;
    steady::time_point t0, t1;

    std::thread receiver([&] {
        std::vector<std::byte> buffers(batch * 2048);
        std::vector<::iovec> iov(batch);
        std::vector<::mmsghdr> msgs(batch);
        auto hard_stop = steady::time_point::max();
        for (;;) {
            for (unsigned i = 0; i < batch; ++i) {
                iov[i] = {buffers.data() + i * 2048, 2048};
                msgs[i] = {};
                msgs[i].msg_hdr.msg_iov = &iov[i];
                msgs[i].msg_hdr.msg_iovlen = 1;
            }
            int const n = ::recvmmsg(rx.fd, msgs.data(), batch, MSG_WAITFORONE, nullptr);
            if (n > 0) {
                received += static_cast<unsigned>(n);
            } else if (sender_done.load(std::memory_order_acquire)) {
                break; // a timeout after the sender stopped: the queue is empty
            }
            if (sender_done.load(std::memory_order_acquire)) {
                if (hard_stop == steady::time_point::max())
                    hard_stop = steady::now() + 1s;
                else if (steady::now() >= hard_stop)
                    break;
            }
        }
    });

    std::thread sender([&] {
        std::vector<std::byte> payload(payload_size, std::byte{0x5a});
        std::vector<::iovec> iov(batch, ::iovec{payload.data(), payload.size()});
        std::vector<::mmsghdr> msgs(batch);
        for (unsigned i = 0; i < batch; ++i) {
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        t0 = steady::now();
        auto const deadline = t0 + steady_of(seconds);
        while (steady::now() < deadline) {
            int const n = ::sendmmsg(tx.fd, msgs.data(), batch, 0);
            if (n > 0)
                sent += static_cast<unsigned>(n);
        }
        t1 = steady::now();
        sender_done.store(true, std::memory_order_release);
    });

    sender.join();
    receiver.join();
    out.sent = sent;
    out.received = received;
    out.seconds = seconds_between(t0, t1);
    return out;
}

// -- meshkit -----------------------------------------------------------------

/// What one node saw; atomics are read by the main thread while the node runs, the rest after its thread ends.
struct receiver_state {
    std::atomic<std::uint64_t> delivered{0}; ///< first deliveries of node 0's broadcasts
    std::atomic<std::int64_t> last_delivery_ns{0};
    std::atomic<std::size_t> active{0}; ///< HyParView active view size
    std::atomic<std::uint64_t> link_changes{0}; ///< link_up and link_down events: overlay churn under load
    std::uint64_t self_deliveries = 0;
    std::uint64_t double_deliveries = 0;
    std::uint64_t other_origin = 0;   ///< from neither node 0 nor itself: should be 0
    std::uint64_t out_of_window = 0;  ///< seq outside the tracked window: should be 0
    std::uint64_t inconsistent = 0;   ///< payload index disagrees with seq - first_seq: should be 0
    std::optional<std::uint64_t> first_seq;
    std::vector<bool> seen; ///< indexed by seq - first_seq
};

/// Node 0's publisher; runs on node 0's thread.
struct publisher_state {
    std::vector<std::byte> payload;
    steady::time_point started, stopped;
    steady::duration length{};
    bool running = false;
    bool waiting_ready = false;
    std::uint64_t queue_full = 0;
    std::uint64_t ready_events = 0;
    std::uint64_t retries = 0;
    std::string error;
    std::atomic<std::uint64_t> sent{0};
    std::atomic<bool> finished{false};
};

struct bench_node {
    asio::io_context io;
    asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
    std::optional<asio::steady_timer> timer; // node 0: ends the publishing window
    std::optional<udp_node> node;
    receiver_state rx;
    std::thread thread;
    std::string thread_error;
    std::atomic<bool> thread_failed{false};
};

/// Stops every node's io_context and joins its thread, however the run ends.
struct join_all {
    std::vector<std::unique_ptr<bench_node>>& nodes;
    void operator()() const
    {
        for (auto& b : nodes)
            b->io.stop();
        for (auto& b : nodes)
            if (b->thread.joinable())
                b->thread.join();
    }
    ~join_all() { (*this)(); }
};

constexpr std::size_t max_tracked = std::size_t{1} << 27; // 16 MiB of bits per receiver

void on_delivered(receiver_state& rx, node_id const& self, node_id const& origin0, broadcast::delivered const& d)
{
    if (d.key.origin == self) {
        ++rx.self_deliveries;
        return;
    }
    if (d.key.origin != origin0) {
        ++rx.other_origin;
        return;
    }
    // The payload carries the publisher's count, so the first delivery (not
    // necessarily of the first broadcast) names node 0's first sequence number.
    std::uint64_t index = 0;
    if (d.payload.size() >= sizeof index)
        std::memcpy(&index, d.payload.data(), sizeof index);
    if (!rx.first_seq)
        rx.first_seq = d.key.seq - index;
    if (d.key.seq - index != *rx.first_seq)
        ++rx.inconsistent;
    std::uint64_t const at = d.key.seq - *rx.first_seq;
    if (at >= max_tracked) {
        ++rx.out_of_window;
        return;
    }
    if (at >= rx.seen.size())
        rx.seen.resize(std::max<std::size_t>(at + 1, rx.seen.size() * 2));
    if (rx.seen[at]) {
        ++rx.double_deliveries;
        return;
    }
    rx.seen[at] = true;
    rx.delivered.fetch_add(1, std::memory_order_relaxed);
    rx.last_delivery_ns.store(steady::now().time_since_epoch().count(), std::memory_order_relaxed);
}

void finish_publishing(publisher_state& p)
{
    if (!p.running)
        return;
    p.running = false;
    p.stopped = steady::now();
    p.finished.store(true, std::memory_order_release);
}

/** Publishes up to 64 payloads, then re-posts itself, until the window closes.

    On `queue_full` it stops and waits for `ready_to_publish`, or, on a node
    that does not emit that event, yields to the io_context and retries.
*/
void publish_some(bench_node& b, publisher_state& p)
{
    if (!p.running || p.waiting_ready)
        return;
    for (int k = 0; k < 64; ++k) {
        if (steady::now() - p.started >= p.length) {
            finish_publishing(p);
            return;
        }
        std::uint64_t const index = p.sent.load(std::memory_order_relaxed);
        std::memcpy(p.payload.data(), &index, sizeof index);
        auto const r = b.node->broadcast(p.payload);
        if (r) {
            p.sent.store(index + 1, std::memory_order_relaxed);
            continue;
        }
        if (r.error() != errc::queue_full) {
            p.error = "broadcast: " + r.error().message();
            finish_publishing(p);
            return;
        }
        ++p.queue_full;
        if constexpr (node_signals_ready) {
            p.waiting_ready = true; // the event handler resumes
            return;
        } else {
            ++p.retries;
            break;
        }
    }
    asio::post(b.io, [&b, &p] { publish_some(b, p); });
}

struct mesh_outcome {
    bool ok = false;
    std::string error;
    double formation_s = 0;
    double publish_s = 0;
    double drain_s = 0;
    std::uint64_t sent = 0;
    std::uint64_t queue_full = 0;
    std::uint64_t ready_events = 0;
    std::uint64_t retries = 0;
    std::vector<std::uint64_t> delivered;   // per receiver (nodes 1..N-1)
    std::vector<double> deliveries_per_s;   // per receiver
    std::uint64_t self_deliveries = 0;
    std::uint64_t double_deliveries = 0;
    std::uint64_t anomalies = 0; // other origin, out of window, inconsistent seq
    std::uint64_t send_errors = 0;        ///< node_stats::send_errors, summed
    std::uint64_t link_changes = 0;       ///< link_up/link_down events over all nodes, after the overlay formed
    tools::figures plumtree = tools::figures::object();  ///< broadcast_stats, summed over the nodes
    tools::figures transport = tools::figures::object(); ///< udp::transport::stats(), summed (when it exists)
};

/// Polls `done` every 10 ms until it holds, a node thread fails, or `limit` passes.
template <class Done>
bool wait_for(std::vector<std::unique_ptr<bench_node>> const& nodes, Done done, steady::duration limit)
{
    auto const deadline = steady::now() + limit;
    while (!done()) {
        for (auto const& b : nodes)
            if (b->thread_failed.load())
                return false;
        if (steady::now() >= deadline)
            return false;
        std::this_thread::sleep_for(10ms);
    }
    return true;
}

mesh_outcome run_mesh(std::size_t n, std::size_t payload_size, double seconds)
{
    mesh_outcome out;
    publisher_state pub; // outlives the threads: declared before the nodes and their guard
    pub.payload.assign(payload_size, std::byte{0x42});
    pub.length = steady_of(seconds);
    std::vector<std::unique_ptr<bench_node>> nodes;
    join_all const stop_all{nodes};

    // Build and start every node before its thread runs: node 0 first, then
    // the others, each knowing node 0 as its only seed.
    try {
        for (std::size_t i = 0; i < n; ++i) {
            auto b = std::make_unique<bench_node>();
            node_config cfg;
            cfg.listen = endpoint::v4(127, 0, 0, 1, 0);
            discovery::static_seeds seeds;
            if (i > 0)
                seeds.add(nodes[0]->node->local_endpoint());
            b->node.emplace(b->io, cfg, std::move(seeds));
            nodes.push_back(std::move(b));
        }
    } catch (std::exception const& e) {
        out.error = std::string("cannot open a node: ") + e.what();
        return out;
    }
    node_id const origin0 = nodes[0]->node->id();
    for (std::size_t i = 0; i < n; ++i) {
        bench_node& b = *nodes[i];
        bool const publisher = i == 0;
        b.node->on_event([&b, &pub, origin0, publisher](udp_node::event_type const& ev) {
            std::visit(
                [&]<class E>(E const& e) {
                    if constexpr (std::is_same_v<E, broadcast::delivered>) {
                        on_delivered(b.rx, b.node->id(), origin0, e);
                    } else if constexpr (std::is_same_v<E, link_up> || std::is_same_v<E, link_down>) {
                        b.rx.active.store(b.node->engine<membership::hyparview>().active_size());
                        ++b.rx.link_changes;
                    } else if constexpr (std::is_same_v<E, broadcast::ready_to_publish>) {
                        if (!publisher)
                            return;
                        ++pub.ready_events;
                        if (pub.waiting_ready) {
                            pub.waiting_ready = false;
                            asio::post(b.io, [&b, &pub] { publish_some(b, pub); });
                        }
                    }
                },
                ev);
        });
        b.node->start();
    }
    for (auto& b : nodes)
        b->thread = std::thread([p = b.get()] {
            try {
                p->io.run();
            } catch (std::exception const& e) {
                p->thread_error = e.what();
                p->thread_failed.store(true);
            }
        });

    auto const t_form = steady::now();
    bool const formed = wait_for(
        nodes,
        [&] {
            return std::all_of(nodes.begin(), nodes.end(), [](auto const& b) { return b->rx.active.load() > 0; });
        },
        10s + std::chrono::milliseconds(250) * static_cast<int>(n));
    out.formation_s = seconds_between(t_form, steady::now());
    if (!formed) {
        out.error = "the overlay did not form (a node without an active neighbour after " +
                    tools::fixed(out.formation_s, 1) + " s)";
        for (auto const& b : nodes)
            if (b->thread_failed.load())
                out.error = "a node's thread failed: " + b->thread_error;
        return out;
    }
    std::this_thread::sleep_for(1s); // let HyParView and Plumtree settle
    for (auto& b : nodes)
        b->rx.link_changes.store(0); // count only the churn while publishing

    bench_node& b0 = *nodes[0];
    asio::post(b0.io, [&b0, &pub] {
        pub.started = steady::now();
        pub.running = true;
        b0.timer.emplace(b0.io);
        b0.timer->expires_at(pub.started + pub.length);
        b0.timer->async_wait([&pub](std::error_code ec) {
            if (!ec)
                finish_publishing(pub); // also ends a wait for ready_to_publish
        });
        publish_some(b0, pub);
    });
    if (!wait_for(nodes, [&] { return pub.finished.load(std::memory_order_acquire); }, pub.length + 5s)) {
        out.error = "the publisher did not stop";
        return out;
    }

    // Stragglers and repair: until every receiver has everything, nothing
    // arrives for 1.5 s, or 5 s pass.
    auto const sent = pub.sent.load();
    auto const t_drain = steady::now();
    std::uint64_t last_total = 0;
    auto last_progress = t_drain;
    (void)wait_for(
        nodes,
        [&] {
            std::uint64_t total = 0;
            bool all = true;
            for (std::size_t i = 1; i < n; ++i) {
                auto const d = nodes[i]->rx.delivered.load(std::memory_order_relaxed);
                total += d;
                all = all && d >= sent;
            }
            if (total != last_total) {
                last_total = total;
                last_progress = steady::now();
            }
            return all || steady::now() - last_progress > 1500ms;
        },
        5s);
    out.drain_s = seconds_between(t_drain, steady::now());
    stop_all(); // every thread joined: the rest reads the nodes directly

    for (auto const& b : nodes)
        if (b->thread_failed.load()) {
            out.error = "a node's thread failed: " + b->thread_error;
            return out;
        }
    if (!pub.error.empty()) {
        out.error = pub.error;
        return out;
    }
    out.sent = sent;
    out.publish_s = seconds_between(pub.started, pub.stopped);
    out.queue_full = pub.queue_full;
    out.ready_events = pub.ready_events;
    out.retries = pub.retries;
    for (std::size_t i = 0; i < n; ++i) {
        bench_node& b = *nodes[i];
        auto const& rx = b.rx;
        out.self_deliveries += rx.self_deliveries;
        out.double_deliveries += rx.double_deliveries;
        out.link_changes += rx.link_changes.load();
        out.anomalies += rx.other_origin + rx.out_of_window + rx.inconsistent;
        out.send_errors += b.node->stats().send_errors;
        sum_broadcast_stats(out.plumtree, b.node->broadcaster().stats());
        sum_transport_stats(out.transport, b.node->transport());
        if (i == 0)
            continue;
        auto const d = rx.delivered.load();
        out.delivered.push_back(d);
        double const window =
            seconds_between(pub.started, steady::time_point(steady::duration(rx.last_delivery_ns.load())));
        out.deliveries_per_s.push_back(d > 0 && window > 0 ? static_cast<double>(d) / window : 0.0);
    }
    out.ok = true;
    return out;
}

std::string percent_list(std::vector<double> const& v)
{
    if (v.empty())
        return "-";
    if (v.size() <= 3) {
        std::string s;
        for (double x : v)
            s += (s.empty() ? "" : " ") + tools::fixed(x, 1);
        return s;
    }
    auto const [lo, hi] = std::minmax_element(v.begin(), v.end());
    return tools::fixed(*lo, 1) + "-" + tools::fixed(*hi, 1);
}

} // namespace

int main(int argc, char** argv)
try {
    double seconds = 2;
    std::vector<std::size_t> node_counts{2, 4, 16};
    std::vector<std::size_t> payloads{64, 1000};
    std::string json_file;
    std::size_t const max_payload = broadcast::plumtree_config{}.max_payload;
    CLI::App app{"meshkit-bench-udp: broadcast throughput of N meshkit nodes (HyParView + Plumtree) on loopback "
                 "UDP, each on its own thread, against raw UDP (sendmmsg/recvmmsg) in the same run.",
                 "meshkit-bench-udp"};
    app.add_option("--seconds", seconds, "How long each sender sends (default 2)")
        ->check(tools::in_range(0.1, 3600))
        ->type_name("S");
    app.add_option("--nodes", node_counts, "Overlay sizes, comma-separated (default 2,4,16)")
        ->delimiter(',')
        ->check(tools::in_range(2, 257))
        ->type_name("N,...");
    app.add_option("--payloads", payloads, "Payload sizes in bytes, comma-separated (default 64,1000)")
        ->delimiter(',')
        ->check(tools::in_range(8, static_cast<double>(max_payload) + 1))
        ->type_name("BYTES,...");
    app.add_option("--json", json_file, "Also write the figures as JSON to FILE (- for stdout, instead of the table)")
        ->type_name("FILE");
    tools::parse_or_exit(app, argc, argv);

    tools::report_table t{
        "Broadcast throughput on loopback UDP, " + tools::fixed(seconds, 1) +
            " s per run; node 0 publishes, every other node receives; raw = sendmmsg/recvmmsg, 1 sender, 1 receiver",
        {"payload B", "nodes", "raw UDP pps", "raw recv/sent %", "published/s", "meshkit deliveries/s", "ratio to raw",
         "delivered/sent % per receiver", "self", "double", "send errors", "send dropped", "kernel rx drops",
         "queue_full", "dups", "grafts", "graft misses"}};
    tools::figures runs = tools::figures::array();
    tools::figures raw_runs = tools::figures::array();
    bool failed = false;
    for (std::size_t payload : payloads) {
        auto const raw = raw_udp(payload, seconds);
        if (!raw.error.empty()) {
            std::fprintf(stderr, "meshkit-bench-udp: %s\n", raw.error.c_str());
            return 1;
        }
        double const raw_pps = static_cast<double>(raw.received) / raw.seconds;
        double const raw_sent_pps = static_cast<double>(raw.sent) / raw.seconds;
        double const raw_ratio = raw.sent ? static_cast<double>(raw.received) / static_cast<double>(raw.sent) : 0;
        raw_runs.push_back({{"payload_bytes", payload},
                            {"seconds", raw.seconds},
                            {"sent", raw.sent},
                            {"received", raw.received},
                            {"sent_packets_per_s", raw_sent_pps},
                            {"received_packets_per_s", raw_pps},
                            {"received_percent", raw_ratio * 100}});
        for (std::size_t n : node_counts) {
            auto const m = run_mesh(n, payload, seconds);
            if (!m.ok) {
                failed = true;
                std::fprintf(stderr, "meshkit-bench-udp: %zu B, %zu nodes: %s\n", payload, n, m.error.c_str());
                t.add_row({std::to_string(payload), std::to_string(n), tools::fixed(raw_pps, 0),
                           tools::fixed(raw_ratio * 100, 1), "failed: " + m.error});
                runs.push_back({{"payload_bytes", payload}, {"nodes", n}, {"error", m.error}});
                continue;
            }
            double mean = 0;
            std::vector<double> pct;
            for (std::size_t r = 0; r < m.delivered.size(); ++r) {
                mean += m.deliveries_per_s[r] / static_cast<double>(m.delivered.size());
                pct.push_back(m.sent ? 100.0 * static_cast<double>(m.delivered[r]) / static_cast<double>(m.sent) : 0);
            }
            double const published_per_s = static_cast<double>(m.sent) / m.publish_s;
            double const ratio = raw_pps > 0 ? mean / raw_pps : 0;
            t.add_row({std::to_string(payload), std::to_string(n), tools::fixed(raw_pps, 0),
                       tools::fixed(raw_ratio * 100, 1), tools::fixed(published_per_s, 0), tools::fixed(mean, 0),
                       tools::fixed(ratio, 3), percent_list(pct), std::to_string(m.self_deliveries),
                       std::to_string(m.double_deliveries), std::to_string(m.send_errors),
                       counter_cell(m.transport, "send_dropped"), counter_cell(m.transport, "kernel_receive_drops"),
                       std::to_string(m.queue_full), counter_cell(m.plumtree, "duplicates"),
                       counter_cell(m.plumtree, "grafts_sent"), counter_cell(m.plumtree, "graft_misses")});
            tools::figures row{{"payload_bytes", payload},
                               {"nodes", n},
                               {"raw_udp_received_packets_per_s", raw_pps},
                               {"overlay_formation_s", m.formation_s},
                               {"publish_s", m.publish_s},
                               {"drain_s", m.drain_s},
                               {"published", m.sent},
                               {"published_per_s", published_per_s},
                               {"deliveries_per_s", mean},
                               {"ratio_to_raw", ratio},
                               {"delivered_percent_min", pct.empty() ? 0 : *std::min_element(pct.begin(), pct.end())},
                               {"delivered_percent_max", pct.empty() ? 0 : *std::max_element(pct.begin(), pct.end())},
                               {"delivered_percent", pct},
                               {"receiver_deliveries_per_s", m.deliveries_per_s},
                               {"self_deliveries", m.self_deliveries},
                               {"double_deliveries", m.double_deliveries},
                               {"anomalies", m.anomalies},
                               {"send_errors", m.send_errors},
                               {"link_changes", m.link_changes},
                               {"queue_full", m.queue_full},
                               {"ready_to_publish_events", m.ready_events},
                               {"queue_full_retries", m.retries},
                               {"plumtree", m.plumtree},
                               {"transport", m.transport}};
            runs.push_back(std::move(row));
            if (m.anomalies != 0)
                std::fprintf(stderr, "meshkit-bench-udp: %zu B, %zu nodes: %llu deliveries with an unexpected key\n",
                             payload, n, static_cast<unsigned long long>(m.anomalies));
        }
    }

    tools::figures const doc{{"tool", "meshkit-bench-udp"},
                             {"seconds", seconds},
                             {"ready_to_publish_emitted", node_signals_ready},
                             {"transport_stats", has_transport_stats<udp::transport>},
                             {"raw_udp", raw_runs},
                             {"runs", runs}};
    if (json_file == "-") {
        tools::print_report({t}, doc, true);
    } else {
        tools::print_report({t}, doc, false);
        std::printf("\nself = a node's own broadcast delivered back to it; double = one key delivered twice at one "
                    "node; send errors, dups, grafts: summed over the nodes; ready_to_publish %s; send dropped and kernel rx "
                    "drops %s.\n",
                    node_signals_ready ? "resumes the publisher" : "not emitted yet (the publisher retries on queue_full)",
                    has_transport_stats<udp::transport> ? "from udp::transport::stats(), summed"
                                                        : "n/a (udp::transport has no stats() yet)");
        if (!json_file.empty()) {
            std::ofstream f(json_file);
            f << doc.dump(2) << '\n';
            if (!f) {
                std::fprintf(stderr, "meshkit-bench-udp: cannot write %s\n", json_file.c_str());
                return 1;
            }
        }
    }
    return failed ? 1 : 0;
} catch (std::exception const& e) {
    std::fprintf(stderr, "meshkit-bench-udp: %s\n", e.what());
    return 1;
}

// meshkit-bench-security: what the security layer costs.
//
//   1. CPU, one core: Noise XX handshakes (both sides, all three messages),
//      Ed25519 signatures and verifications, per second.
//   2. Real UDP on 127.0.0.1, one thread: handshakes per second between a
//      fresh initiator and one responder; round-trip latency of a 64-byte
//      datagram; and throughput of 1,100-byte datagrams, each through
//      `security::secure_transport<udp::transport>` and through the raw
//      `udp::transport` in the same run. The loop polls (one core spins), so
//      the round trip is the stack's, not a timer's.
//
//   meshkit-bench-security [--datagrams N] [--rounds N] [--handshakes N] [--json]

#include <common/cli.hpp>
#include <common/report.hpp>

#include <meshkit/security/noise/handshake.hpp>
#include <meshkit/security/secure_transport.hpp>
#include <meshkit/security/signing_key.hpp>
#include <meshkit/udp/steady_clock.hpp>
#include <meshkit/udp/transport.hpp>

#include <asio/io_context.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace {

using namespace meshkit;
using namespace std::chrono_literals;
namespace noise = security::noise;
using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point t0)
{
    return std::chrono::duration<double>(clock_type::now() - t0).count();
}

/// Complete XX handshakes per second, both sides in this thread.
double handshakes_per_second_cpu(std::size_t n)
{
    auto const a = security::signing_key::generate(), b = security::signing_key::generate();
    auto const as = a.x25519_secret(), bs = b.x25519_secret();
    std::vector<std::byte> m1, m2, m3, payload;
    auto const t0 = clock_type::now();
    for (std::size_t i = 0; i < n; ++i) {
        security::x25519_key ea, eb;
        randombytes_buf(ea.data(), ea.size());
        randombytes_buf(eb.data(), eb.size());
        noise::xx_handshake init(noise::xx_handshake::role::initiator, as, {}, ea);
        noise::xx_handshake resp(noise::xx_handshake::role::responder, bs, {}, eb);
        m1.clear(), m2.clear(), m3.clear(), payload.clear();
        (void)init.write_message({}, m1);
        (void)resp.read_message(m1, payload);
        (void)resp.write_message({}, m2);
        (void)init.read_message(m2, payload);
        (void)init.write_message({}, m3);
        (void)resp.read_message(m3, payload);
        (void)init.split();
        (void)resp.split();
    }
    return static_cast<double>(n) / seconds_since(t0);
}

template <class F>
double per_second(std::size_t n, F&& f)
{
    auto const t0 = clock_type::now();
    for (std::size_t i = 0; i < n; ++i)
        f(i);
    return static_cast<double>(n) / seconds_since(t0);
}

/// Two transports of one kind on loopback, with the plumbing the measurements need.
template <class T>
struct pair_of {
    asio::io_context io;
    udp::steady_clock clock{io};
    std::unique_ptr<T> a, b;
    std::size_t received_at_b = 0, received_at_a = 0;

    pair_of()
    {
        a = make();
        b = make();
        b->on_receive([this](endpoint const& from, std::span<std::byte const> d) {
            ++received_at_b;
            if (echo)
                (void)b->send(from, d);
        });
        a->on_receive([this](endpoint const&, std::span<std::byte const>) { ++received_at_a; });
    }

    std::unique_ptr<T> make()
    {
        auto t = std::make_unique<T>(io, endpoint::v4(127, 0, 0, 1, 0));
        if constexpr (requires { t->use_identity(security::signing_key::generate(), [] { return time_point{}; }, 0); })
            t->use_identity(security::signing_key::generate(), [this] { return clock.now(); }, 0);
        return t;
    }

    /// Runs the loop until `done()` or a second passes with nothing to do.
    template <class Done>
    bool run_until(Done&& done)
    {
        // Polling, not run_for: a blocking wait would put its own granularity into every round trip.
        auto const deadline = clock_type::now() + 5s;
        while (!done() && clock_type::now() < deadline) {
            io.restart();
            io.poll();
        }
        return done();
    }

    bool echo = false;
};

struct path_figures {
    double rtt_p50_us = 0, rtt_p99_us = 0;
    double datagrams_per_s = 0, megabytes_per_s = 0;
    double delivered_percent = 0;
};

template <class T>
path_figures measure_path(std::size_t rounds, std::size_t datagrams)
{
    pair_of<T> p;
    path_figures f;
    std::vector<std::byte> small(64, std::byte{0x5a}), big(1100, std::byte{0xa5});
    endpoint const to_b = p.b->local_endpoint();
    // Warm up: the secure pair's handshake is not part of the latency.
    p.echo = true;
    (void)p.a->send(to_b, small);
    p.run_until([&] { return p.received_at_a >= 1; });
    std::vector<double> rtts;
    rtts.reserve(rounds);
    for (std::size_t i = 0; i < rounds; ++i) {
        std::size_t const before = p.received_at_a;
        auto const t0 = clock_type::now();
        (void)p.a->send(to_b, small);
        if (!p.run_until([&] { return p.received_at_a > before; }))
            break;
        rtts.push_back(seconds_since(t0) * 1e6);
    }
    std::sort(rtts.begin(), rtts.end());
    if (!rtts.empty()) {
        f.rtt_p50_us = rtts[rtts.size() / 2];
        f.rtt_p99_us = rtts[std::min(rtts.size() - 1, rtts.size() * 99 / 100)];
    }
    // Throughput: windows of 64 datagrams, each sent once the last window has arrived (no loss from a full buffer).
    p.echo = false;
    std::size_t const start = p.received_at_b;
    auto const t0 = clock_type::now();
    std::size_t sent = 0;
    while (sent < datagrams) {
        std::size_t const window = std::min<std::size_t>(64, datagrams - sent);
        for (std::size_t i = 0; i < window; ++i)
            (void)p.a->send(to_b, big);
        sent += window;
        if (!p.run_until([&] { return p.received_at_b - start >= sent; }))
            break;
    }
    double const elapsed = seconds_since(t0);
    std::size_t const got = p.received_at_b - start;
    f.datagrams_per_s = static_cast<double>(got) / elapsed;
    f.megabytes_per_s = f.datagrams_per_s * static_cast<double>(big.size()) / 1e6;
    f.delivered_percent = 100.0 * static_cast<double>(got) / static_cast<double>(datagrams);
    return f;
}

/// Sequential handshakes over loopback: a fresh initiator each time, one responder; first datagram to its echo.
std::pair<double, double> handshakes_over_udp(std::size_t n)
{
    using secure = security::secure_transport<udp::transport>;
    pair_of<secure> p;
    p.echo = true;
    // Every initiator comes from 127.0.0.1: lift the per-source limit (20/s) to measure the handshake itself.
    auto cfg = p.b->config();
    cfg.handshakes_per_second = 1e9;
    cfg.handshake_burst = 1e9;
    p.b->set_config(cfg);
    std::vector<std::byte> hello(32, std::byte{1});
    std::vector<double> ms;
    auto const t0 = clock_type::now();
    for (std::size_t i = 0; i < n; ++i) {
        auto fresh = p.make();
        bool answered = false;
        fresh->on_receive([&](endpoint const&, std::span<std::byte const>) { answered = true; });
        auto const h0 = clock_type::now();
        (void)fresh->send(p.b->local_endpoint(), hello);
        if (!p.run_until([&] { return answered; }))
            break;
        ms.push_back(seconds_since(h0) * 1e3);
    }
    double const rate = static_cast<double>(ms.size()) / seconds_since(t0);
    std::sort(ms.begin(), ms.end());
    return {rate, ms.empty() ? 0.0 : ms[ms.size() / 2]};
}

} // namespace

int main(int argc, char** argv)
{
    std::size_t datagrams = 200'000, rounds = 5'000, handshakes = 1'000;
    bool json = false;
    CLI::App app{"meshkit-bench-security: handshakes per second, and throughput and latency through the secure "
                 "transport against raw UDP, on 127.0.0.1, one thread.",
                 "meshkit-bench-security"};
    app.add_option("--datagrams", datagrams, "1,100-byte datagrams for the throughput run (default 200000)")
        ->check(tools::in_range(1));
    app.add_option("--rounds", rounds, "Round trips for the latency run (default 5000)")->check(tools::in_range(1));
    app.add_option("--handshakes", handshakes, "Handshakes for the handshake runs (default 1000)")
        ->check(tools::in_range(1));
    app.add_flag("--json", json, "Print the figures as JSON instead of tables");
    tools::parse_or_exit(app, argc, argv);

    security::detail::ensure_sodium();
    double const hs_cpu = handshakes_per_second_cpu(handshakes);
    auto const key = security::signing_key::generate();
    std::vector<std::byte> record(200, std::byte{7});
    auto const sig = key.sign(record);
    double const signs = per_second(handshakes * 10, [&](std::size_t i) {
        record[0] = static_cast<std::byte>(i);
        (void)key.sign(record);
    });
    record[0] = std::byte{7};
    double const verifies = per_second(handshakes * 10, [&](std::size_t) { (void)security::verify(key.id(), record, sig); });
    auto const [hs_udp, hs_udp_ms] = handshakes_over_udp(handshakes);

    tools::report_table crypto{"Security, CPU (one core)", {"operation", "per second"}};
    crypto.add_row({"Noise XX handshake (both sides, 3 messages, split)", tools::fixed(hs_cpu, 0)});
    crypto.add_row({"Ed25519 sign (200-byte record)", tools::fixed(signs, 0)});
    crypto.add_row({"Ed25519 verify (200-byte record)", tools::fixed(verifies, 0)});
    crypto.add_row({"handshake over UDP 127.0.0.1, fresh initiator, to first echo (per second)", tools::fixed(hs_udp, 0)});
    crypto.add_row({"  ... median time to first echo (ms)", tools::fixed(hs_udp_ms, 3)});

    auto const raw = measure_path<udp::transport>(rounds, datagrams);
    auto const sec = measure_path<security::secure_transport<udp::transport>>(rounds, datagrams);
    tools::report_table paths{"Raw UDP against the secure transport, 127.0.0.1, one thread (both ends)",
                              {"path", "RTT p50 (us)", "RTT p99 (us)", "datagrams/s (1,100 B)", "MB/s", "delivered"}};
    auto row = [&](std::string const& name, path_figures const& f) {
        paths.add_row({name, tools::fixed(f.rtt_p50_us, 1), tools::fixed(f.rtt_p99_us, 1),
                       tools::fixed(f.datagrams_per_s, 0), tools::fixed(f.megabytes_per_s, 1),
                       tools::fixed(f.delivered_percent, 1) + " %"});
    };
    row("udp::transport", raw);
    row("secure_transport<udp::transport>", sec);
    auto as_json = [](path_figures const& f) {
        return tools::figures{{"rtt_us_p50", f.rtt_p50_us},
                              {"rtt_us_p99", f.rtt_p99_us},
                              {"datagrams_per_s", f.datagrams_per_s},
                              {"megabytes_per_s", f.megabytes_per_s},
                              {"delivered_percent", f.delivered_percent}};
    };
    tools::print_report({crypto, paths},
                        {{"tool", "meshkit-bench-security"},
                         {"datagram_bytes", 1100},
                         {"handshakes_per_s_cpu", hs_cpu},
                         {"ed25519_signs_per_s", signs},
                         {"ed25519_verifies_per_s", verifies},
                         {"handshakes_per_s_udp", hs_udp},
                         {"handshake_ms_udp_median", hs_udp_ms},
                         {"raw_udp", as_json(raw)},
                         {"secure_udp", as_json(sec)}},
                        json);
}

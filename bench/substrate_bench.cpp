// meshkit-bench-substrate: how many attached children one substrate process
// holds on loopback over TCP, what each costs it in memory, and how long a
// publication takes to reach all of them.
//
// For each count N: a substrate (`tcp::substrate_node`) runs in its own
// process (this program again, started fresh with a hidden --serve), so its
// resident memory is its own. This process starts N `tcp::transient_node`s on one io_context,
// each with its own UDP and TCP sockets, and attaches them all. The
// substrate's RSS (/proc/PID/status, VmRSS) is read before the first child
// and after the last; the difference over N is the cost per child. Then the
// substrate is told over a pipe to publish, `--publications` times; the time
// from the command to the last child's delivery, measured on this process's
// clock alone, is the publish-to-all latency.
//
//   meshkit-bench-substrate [--children 100,1000,5000] [--publications 20] [--json]

#include <common/cli.hpp>
#include <common/report.hpp>

#include <meshkit/tcp/substrate_transient_policies.hpp>

#include <asio/io_context.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/read.hpp>

#include <sys/resource.h>
#include <sys/wait.h>
#include <csignal>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace {

using namespace meshkit;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

struct options {
    std::vector<std::size_t> children{100, 1000, 5000};
    std::size_t publications = 20;
    bool json = false;
};

/// The resident memory of process `pid`, in KiB (0 when unreadable).
std::size_t rss_kib(pid_t pid)
{
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string key;
    while (status >> key) {
        if (key == "VmRSS:") {
            std::size_t kib = 0;
            status >> kib;
            return kib;
        }
        status.ignore(1 << 16, '\n');
    }
    return 0;
}

/** The substrate's process: writes its TCP address to `report`, then publishes one line per byte read from `commands`.

    Never returns.
*/
[[noreturn]] void serve(int commands, int report, std::size_t max_children)
{
    asio::io_context io;
    node_config cfg;
    cfg.listen = endpoint::v4(127, 0, 0, 1, 0);
    cfg.engine<attach::substrate>().max_children = max_children;
    cfg.max_streams = max_children + 64; // a stream per child
    hierarchy::substrate_transient_config h;
    h.role = node_role::substrate;
    tcp::substrate_node node(io, cfg, discovery::static_seeds{}, hierarchy::substrate_transient{h});
    node.start();
    std::string const address = node.local_endpoint(wire::channel::stream).to_string() + "\n";
    if (::write(report, address.data(), address.size()) < 0)
        std::_Exit(1);
    asio::posix::stream_descriptor in(io, commands);
    char byte = 0;
    std::vector<std::byte> const line(100, std::byte{'x'});
    std::function<void()> next = [&] {
        asio::async_read(in, asio::buffer(&byte, 1), [&](std::error_code ec, std::size_t) {
            if (ec)
                std::_Exit(0); // the bench closed the pipe: done
            (void)reference::publish(node, line);
            next();
        });
    };
    next();
    io.run();
    std::_Exit(0);
}

struct round_result {
    std::size_t children = 0, attached = 0;
    double attach_s = 0;
    std::size_t rss_before_kib = 0, rss_after_kib = 0;
    double kib_per_child = 0;
    double latency_ms_p50 = 0, latency_ms_p95 = 0, latency_ms_max = 0;
    std::size_t publications = 0, deliveries = 0;
    std::size_t port_retries = 0;
};

round_result run_round(std::size_t n, std::size_t publications, char const* self)
{
    round_result r;
    r.children = n;
    int commands[2], report[2];
    if (::pipe(commands) != 0 || ::pipe(report) != 0)
        throw std::runtime_error("pipe failed");
    pid_t const pid = ::fork();
    if (pid < 0)
        throw std::runtime_error("fork failed");
    if (pid == 0) {
        ::close(commands[1]);
        ::close(report[0]);
        std::string const args[] = {std::to_string(commands[0]), std::to_string(report[1]), std::to_string(n + 16)};
        ::execl(self, self, "--serve", args[0].c_str(), args[1].c_str(), args[2].c_str(), static_cast<char*>(nullptr));
        std::_Exit(127);
    }
    ::close(commands[0]);
    ::close(report[1]);
    std::string address;
    for (char c = 0; ::read(report[0], &c, 1) == 1 && c != '\n';)
        address += c;
    ::close(report[0]);
    auto const substrate = endpoint::parse(address);
    if (!substrate)
        throw std::runtime_error("the substrate did not report its address");
    std::this_thread::sleep_for(200ms);
    r.rss_before_kib = rss_kib(pid);

    asio::io_context io;
    std::vector<std::unique_ptr<tcp::transient_node>> children;
    std::size_t attached = 0, delivered = 0;
    node_config cfg;
    cfg.listen = endpoint::v4(127, 0, 0, 1, 0);
    cfg.engine<attach::transient>().evaluation_interval = duration::zero(); // one substrate: nothing to weigh
    cfg.engine<attach::transient>().seen_bytes = 64 * 1024;
    hierarchy::substrate_transient_config h;
    h.role = node_role::transient;
    auto const start = steady::now();
    for (std::size_t i = 0; i < n; ++i) {
        // Port 0 picks a free UDP port; its TCP twin may be some connection's ephemeral port: try another.
        std::unique_ptr<tcp::transient_node> made;
        for (int attempt = 0; !made; ++attempt) {
            try {
                made = std::make_unique<tcp::transient_node>(io, cfg, discovery::static_seeds{},
                                                             hierarchy::substrate_transient{h});
            } catch (std::system_error const&) {
                if (attempt == 16)
                    throw;
                ++r.port_retries;
            }
        }
        auto& c = children.emplace_back(std::move(made));
        c->on_event([&](tcp::transient_node::event_type const& e) {
            if (auto const* up = std::get_if<link_up>(&e); up && up->method == link_method::attached)
                ++attached;
            else if (std::holds_alternative<attach::published>(e))
                ++delivered;
        });
        c->start();
        c->join(*substrate);
        if (i % 64 == 63)
            io.poll(); // let the handshakes run as the children start
    }
    for (auto const deadline = steady::now() + 60s; attached < n && steady::now() < deadline;)
        io.run_for(10ms);
    r.attached = attached;
    r.attach_s = std::chrono::duration<double>(steady::now() - start).count();
    std::this_thread::sleep_for(300ms);
    io.run_for(100ms);
    r.rss_after_kib = rss_kib(pid);
    r.kib_per_child = n ? static_cast<double>(r.rss_after_kib - std::min(r.rss_after_kib, r.rss_before_kib)) /
                              static_cast<double>(n)
                        : 0;

    std::vector<double> latencies;
    for (std::size_t p = 0; p < publications && attached == n; ++p) {
        std::size_t const target = delivered + n;
        char const go = 'p';
        auto const t0 = steady::now();
        if (::write(commands[1], &go, 1) != 1)
            break;
        for (auto const deadline = t0 + 10s; delivered < target && steady::now() < deadline;)
            io.run_one_for(10ms);
        if (delivered < target)
            break;
        latencies.push_back(std::chrono::duration<double, std::milli>(steady::now() - t0).count());
        ++r.publications;
        io.run_for(20ms);
    }
    r.deliveries = delivered;
    if (!latencies.empty()) {
        std::sort(latencies.begin(), latencies.end());
        r.latency_ms_p50 = latencies[latencies.size() / 2];
        r.latency_ms_p95 = latencies[std::min(latencies.size() - 1, latencies.size() * 95 / 100)];
        r.latency_ms_max = latencies.back();
    }
    ::close(commands[1]);
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    children.clear();
    return r;
}

} // namespace

int main(int argc, char** argv)
{
    if (argc == 5 && std::strcmp(argv[1], "--serve") == 0)
        serve(std::atoi(argv[2]), std::atoi(argv[3]), static_cast<std::size_t>(std::atol(argv[4])));
    options o;
    CLI::App app{"meshkit-bench-substrate: children one substrate process holds over TCP on loopback, its memory "
                 "per child, and the time for a publication to reach them all.",
                 "meshkit-bench-substrate"};
    app.add_option("--children", o.children, "Child counts to measure (default 100,1000,5000)")
        ->delimiter(',')
        ->check(tools::in_range(1))
        ->type_name("N,N,...");
    app.add_option("--publications", o.publications, "Publications timed per count (default 20)")
        ->check(tools::in_range(1))
        ->type_name("P");
    app.add_flag("--json", o.json, "Print the figures as JSON instead of a table");
    tools::parse_or_exit(app, argc, argv);

    // Each child holds three descriptors here (UDP, TCP listener, the attachment); the substrate one per child.
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) == 0) {
        lim.rlim_cur = lim.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &lim);
    }
    std::size_t const most = *std::max_element(o.children.begin(), o.children.end());
    if (3 * most + 64 > lim.rlim_cur) {
        std::fprintf(stderr, "meshkit-bench-substrate: %zu children need about %zu file descriptors; the limit is %llu\n",
                     most, 3 * most + 64, static_cast<unsigned long long>(lim.rlim_cur));
        return 2;
    }

    tools::report_table table{"One substrate process, N children attached over TCP on 127.0.0.1",
                              {"children", "attached", "attach all (s)", "substrate RSS (MiB)", "RSS per child (KiB)",
                               "publish-to-all p50 (ms)", "p95 (ms)", "max (ms)"}};
    tools::figures rows = tools::figures::array();
    bool all_ok = true;
    for (std::size_t n : o.children) {
        auto const r = run_round(n, o.publications, "/proc/self/exe");
        all_ok = all_ok && r.attached == n && r.publications == o.publications;
        table.add_row({std::to_string(n), std::to_string(r.attached), tools::fixed(r.attach_s, 2),
                       tools::fixed(static_cast<double>(r.rss_after_kib) / 1024.0, 1), tools::fixed(r.kib_per_child, 1),
                       tools::fixed(r.latency_ms_p50, 2), tools::fixed(r.latency_ms_p95, 2),
                       tools::fixed(r.latency_ms_max, 2)});
        rows.push_back({{"children", n},
                        {"attached", r.attached},
                        {"attach_all_s", r.attach_s},
                        {"substrate_rss_before_kib", r.rss_before_kib},
                        {"substrate_rss_after_kib", r.rss_after_kib},
                        {"rss_per_child_kib", r.kib_per_child},
                        {"publications_timed", r.publications},
                        {"publish_to_all_ms_p50", r.latency_ms_p50},
                        {"publish_to_all_ms_p95", r.latency_ms_p95},
                        {"publish_to_all_ms_max", r.latency_ms_max},
                        {"port_retries", r.port_retries}});
    }
    tools::figures const numbers{{"tool", "meshkit-bench-substrate"}, {"rounds", rows}};
    tools::print_report({table}, numbers, o.json);
    return all_ok ? 0 : 1;
}

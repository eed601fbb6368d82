// meshkit-node: a real meshkit node over UDP (HyParView + Plumtree).
//
// Each line read on stdin is broadcast to the mesh; each broadcast received
// is printed with its origin and hop count, and so is every change of the
// node's neighbours. See docs/meshkit-node.md for a three-terminal walkthrough.
//
//   meshkit-node --listen 127.0.0.1:7000
//   meshkit-node --listen 127.0.0.1:7001 --bootstrap 127.0.0.1:7000

#include <meshkit/udp/udp_policies.hpp>
#include <meshkit/version.hpp>

#include <asio/io_context.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/read_until.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <asio/streambuf.hpp>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <istream>
#include <span>
#include <optional>
#include <string>
#include <string_view>
#include <unistd.h>
#include <vector>

namespace {

using namespace meshkit;

struct options {
    endpoint listen = endpoint::v4(127, 0, 0, 1, 0);
    std::vector<endpoint> bootstrap;
    std::optional<node_id> id;
    std::optional<std::uint64_t> seed;
    double metrics_every_s = 0;
    double run_for_s = 0;
};

[[noreturn]] void usage(std::string const& why, int status = 2)
{
    std::fprintf(status ? stderr : stdout,
                 "meshkit-node: %s\n"
                 "usage: meshkit-node [--listen HOST:PORT] [--bootstrap HOST:PORT]... [--id HEX64] [--seed N]\n"
                 "                    [--metrics SECONDS] [--run-for SECONDS]\n"
                 "  --listen     address to bind (default 127.0.0.1:0, a free port)\n"
                 "  --bootstrap  a node to join through; repeat for several\n"
                 "  --id         this node's 256-bit id as 64 hex digits (default: random)\n"
                 "  --seed       derive the id and all random choices from N and the bound address\n"
                 "               (reproducible with a fixed --listen port; --id, if given, wins for the id)\n"
                 "  --metrics    print the node's counters every SECONDS\n"
                 "  --run-for    exit after SECONDS (default: until SIGINT/SIGTERM)\n"
                 "Lines on stdin are broadcast; deliveries and neighbour changes go to stdout.\n",
                 why.c_str());
    std::exit(status);
}

double parse_seconds(std::string_view flag, char const* text)
{
    char* end = nullptr;
    double v = std::strtod(text, &end);
    if (!end || *end != '\0' || v < 0)
        usage("bad value for " + std::string(flag) + ": " + text);
    return v;
}

options parse(int argc, char** argv)
{
    options o;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        auto next = [&]() -> char const* {
            if (i + 1 >= argc)
                usage("missing value after " + std::string(a));
            return argv[++i];
        };
        auto address = [&](char const* text) {
            auto ep = endpoint::parse(text);
            if (!ep)
                usage("not an address (HOST:PORT or [V6]:PORT): " + std::string(text));
            return *ep;
        };
        if (a == "--listen")
            o.listen = address(next());
        else if (a == "--bootstrap")
            o.bootstrap.push_back(address(next()));
        else if (a == "--id") {
            char const* text = next();
            o.id = node_id::parse(text);
            if (!o.id)
                usage("--id needs 64 hex digits");
        } else if (a == "--seed") {
            char const* text = next();
            std::uint64_t v = 0;
            auto [p, ec] = std::from_chars(text, text + std::strlen(text), v);
            if (ec != std::errc{} || *p != '\0')
                usage("bad value for --seed: " + std::string(text));
            o.seed = v;
        } else if (a == "--metrics")
            o.metrics_every_s = parse_seconds(a, next());
        else if (a == "--run-for")
            o.run_for_s = parse_seconds(a, next());
        else if (a == "--help" || a == "-h")
            usage("meshkit " MESHKIT_VERSION_STRING, 0);
        else
            usage("unknown flag " + std::string(a));
    }
    return o;
}

std::string text_of(std::vector<std::byte> const& payload)
{
    std::string s(payload.size(), '\0');
    std::memcpy(s.data(), payload.data(), payload.size());
    for (char& c : s)
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t')
            c = '.'; // never let a peer write control sequences to our terminal
    return s;
}

auto steady(double seconds)
{
    return std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(seconds));
}

} // namespace

int main(int argc, char** argv)
{
    options const o = parse(argc, argv);
    asio::io_context io;

    node_config cfg;
    cfg.listen = o.listen;
    cfg.id = o.id;
    cfg.seed = o.seed;
    std::optional<udp_node> node;
    try {
        node.emplace(io, cfg, discovery::static_seeds{o.bootstrap});
    } catch (std::system_error const& e) {
        std::fprintf(stderr, "meshkit-node: cannot listen on %s: %s\n", o.listen.to_string().c_str(),
                     e.code().message().c_str());
        return 1;
    }
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    std::printf("listening %s id %s\n", node->local_endpoint().to_string().c_str(), node->id().short_hex().c_str());

    node->on_event([](udp_node::event_type const& ev) {
        if (auto const* d = std::get_if<broadcast::delivered>(&ev))
            std::printf("deliver from %s hops %u seq %llu: %s\n", d->key.origin.short_hex().c_str(),
                        static_cast<unsigned>(d->hops), static_cast<unsigned long long>(d->key.seq),
                        text_of(d->payload).c_str());
        else if (auto const* up = std::get_if<neighbor_up>(&ev))
            std::printf("neighbor up %s %s\n", up->peer.id.short_hex().c_str(), up->peer.address.to_string().c_str());
        else if (auto const* down = std::get_if<neighbor_down>(&ev))
            std::printf("neighbor down %s %s\n", down->peer.id.short_hex().c_str(),
                        down->peer.address.to_string().c_str());
        else if (auto const* f = std::get_if<contact_failed>(&ev))
            std::fprintf(stderr, "meshkit-node: no answer from %s\n", f->address.to_string().c_str());
    });
    node->start();

    // stdin: one broadcast per line.
    asio::posix::stream_descriptor input(io, ::dup(STDIN_FILENO));
    asio::streambuf line_buffer(64 * 1024); // bounded: a longer line is an error, not a memory leak
    std::function<void()> read_line = [&] {
        asio::async_read_until(input, line_buffer, '\n', [&](std::error_code ec, std::size_t n) {
            if (ec == asio::error::not_found) { // a line longer than the buffer: drop it, keep reading
                std::fprintf(stderr, "meshkit-node: line too long, not sent\n");
                line_buffer.consume(line_buffer.size());
                read_line();
                return;
            }
            if (ec) {
                if (ec != asio::error::eof)
                    std::fprintf(stderr, "meshkit-node: stdin: %s\n", ec.message().c_str());
                return; // keep running without input
            }
            std::string line(asio::buffers_begin(line_buffer.data()), asio::buffers_begin(line_buffer.data()) + static_cast<std::ptrdiff_t>(n) - 1);
            line_buffer.consume(n);
            if (!line.empty() && line.back() == '\r')
                line.pop_back();
            if (!line.empty()) {
                auto r = node->broadcast(std::as_bytes(std::span(line.data(), line.size())));
                if (r)
                    std::printf("sent seq %llu: %s\n", static_cast<unsigned long long>(r->seq), line.c_str());
                else
                    std::fprintf(stderr, "meshkit-node: not sent: %s (at most %zu bytes)\n", r.error().message().c_str(),
                                 node->config().plumtree.max_payload);
            }
            read_line();
        });
    };
    read_line();

    asio::steady_timer metrics_timer(io);
    std::function<void()> print_metrics = [&] {
        metrics_timer.expires_after(steady(o.metrics_every_s));
        metrics_timer.async_wait([&](std::error_code ec) {
            if (ec)
                return;
            std::string line = "metrics";
            for (auto const& [name, value] : node->metrics().counters())
                line += " " + name + "=" + std::to_string(value);
            line += " active=" + std::to_string(node->engine<membership::hyparview>().active_size());
            line += " passive=" + std::to_string(node->engine<membership::hyparview>().passive_view().size());
            std::printf("%s\n", line.c_str());
            print_metrics();
        });
    };
    if (o.metrics_every_s > 0)
        print_metrics();

    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](std::error_code, int) { io.stop(); });
    asio::steady_timer stop_timer(io);
    if (o.run_for_s > 0) {
        stop_timer.expires_after(steady(o.run_for_s));
        stop_timer.async_wait([&](std::error_code ec) {
            if (!ec)
                io.stop();
        });
    }
    io.run();
    return 0;
}

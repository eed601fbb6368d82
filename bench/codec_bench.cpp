// meshkit-bench-codec: nanoseconds to encode and decode one message, for a
// small control message and a large one, with the whole envelope.
//
//   meshkit-bench-codec [--json]

#include <common/cli.hpp>
#include <common/report.hpp>

#include <meshkit/endpoint.hpp>
#include <meshkit/membership/liveness_messages.hpp>
#include <meshkit/wire/registry.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace {

using namespace meshkit;

struct peer_entry {
    node_id id;
    endpoint address;
    std::uint32_t capabilities;
    std::uint64_t last_seen_ms;
};

/// A peer list as a discovery protocol sends it: 16 entries, about 1 KB.
struct peer_list {
    static constexpr wire::type_id wire_id = wire::user_first + 10;
    std::uint64_t request_id;
    std::vector<peer_entry> peers;
    std::optional<std::string> note;
};

using registry = wire::registry<membership::ping, peer_list>;

template <class F>
double ns_per_op(F&& f, std::size_t iterations)
{
    for (std::size_t i = 0; i < iterations / 10; ++i) // warm caches and branch predictors
        f();
    auto const t0 = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < iterations; ++i)
        f();
    return std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count() /
           static_cast<double>(iterations);
}

template <class M>
void measure(tools::report_table& t, tools::figures& messages, std::string const& name, M const& m,
             std::size_t iterations)
{
    wire::envelope const header{0, node_id::from_seed(1), 42, 0};
    std::vector<std::byte> buf;
    buf.reserve(2048);
    volatile std::size_t sink = 0;
    double const enc = ns_per_op([&] {
        buf.clear();
        registry::encode(header, m, buf);
        sink = sink + buf.size();
    }, iterations);
    buf.clear();
    registry::encode(header, m, buf);
    double const dec = ns_per_op([&] {
        auto r = registry::decode(buf);
        sink = sink + r.has_value();
    }, iterations);
    double const decode_mb_per_s = static_cast<double>(buf.size()) / dec * 1e3;
    t.add_row({name, std::to_string(buf.size()), tools::fixed(enc, 1), tools::fixed(dec, 1),
               tools::fixed(decode_mb_per_s, 1)});
    messages.push_back({{"message", name},
                        {"datagram_bytes", buf.size()},
                        {"encode_ns", enc},
                        {"decode_ns", dec},
                        {"decode_mb_per_s", decode_mb_per_s}});
}

} // namespace

int main(int argc, char** argv)
{
    bool json = false;
    CLI::App app{"meshkit-bench-codec: nanoseconds to encode and decode one message, small and large.",
                 "meshkit-bench-codec"};
    app.add_flag("--json", json, "Print the figures as JSON instead of a table");
    tools::parse_or_exit(app, argc, argv);

    tools::report_table t{"Wire codec: one datagram (46-byte envelope + body), single core",
                          {"message", "bytes", "encode ns", "decode ns", "decode MB/s"}};
    tools::figures messages = tools::figures::array();
    measure(t, messages, "ping (control)", membership::ping{0x1234567890abcdefULL}, 2'000'000);
    peer_list list{7, {}, std::string("bootstrap refresh")};
    for (std::uint64_t i = 0; i < 16; ++i)
        list.peers.push_back({node_id::from_seed(i), endpoint::v4(10, 0, 0, static_cast<std::uint8_t>(i), 7000),
                              0x3, 1'700'000'000'000ULL + i});
    measure(t, messages, "peer_list (16 peers)", list, 300'000);
    tools::print_report({t}, {{"tool", "meshkit-bench-codec"}, {"messages", messages}}, json);
}

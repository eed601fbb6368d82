// One translation unit holding a full gossip-first node on UDP: every engine
// (the connection ladder, cache gossip, the registry client), the peer cache,
// the file store and the Asio runtime, with every event type handled.
// bench/compile_cost.py compiles it to measure what a user's build pays.
// It uses only what every measured revision offers, so the same file
// compiles before and after a change.
#include <meshkit/udp/gossip_first_policies.hpp>

#include <asio/io_context.hpp>

#include <cstdio>
#include <string>
#include <variant>

int main(int argc, char** argv)
{
    asio::io_context io;
    meshkit::node_config cfg;
    cfg.listen = meshkit::endpoint::v4(127, 0, 0, 1, 0);
    meshkit::udp::gossip_first_node node(io, cfg, meshkit::discovery::bootstrap_cache{}, {},
                                         meshkit::storage::file_store(argc > 1 ? argv[1] : "compile-cost-state"));
    std::size_t events = 0;
    node.on_event([&](meshkit::udp::gossip_first_node::event_type const& e) {
        std::visit([&](auto const&) { ++events; }, e);
    });
    node.start();
    auto const peer = meshkit::node_id::from_seed(7);
    auto const text = std::string("hello");
    (void)node.with_engine<meshkit::nat::connector>([&](auto& c, auto& ctx) { return c.connect(ctx, peer); });
    (void)node.with_engine<meshkit::nat::connector>(
        [&](auto& c, auto& ctx) { return c.send(ctx, peer, std::as_bytes(std::span(text.data(), text.size()))); });
    io.run_for(std::chrono::milliseconds(argc > 2 ? 10 : 0));
    node.stop();
    std::printf("%zu events\n", events);
}

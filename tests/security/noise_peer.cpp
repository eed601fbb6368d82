// tests/security/noise_peer.cpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
// meshkit's end of the interoperability test (noise_interop.py): a
// secure_transport on a real UDP socket, speaking to a Noise
// implementation nobody here wrote (dissononce).
//
//   meshkit_noise_peer echo            prints "PORT ID", then echoes "echo:" + each datagram; "bye" ends it
//   meshkit_noise_peer dial PORT ID    sends "hello from meshkit" to 127.0.0.1:PORT, expecting node ID there,
//                                      prints the answer and exits 0 when it is "echo:hello from meshkit"

#include <meshkit/security/secure_transport.hpp>
#include <meshkit/udp/steady_clock.hpp>
#include <meshkit/udp/transport.hpp>

#include <asio/io_context.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <string_view>

using namespace meshkit;

int main(int argc, char** argv)
{
    std::string_view const mode = argc > 1 ? argv[1] : "";
    if (mode != "echo" && !(mode == "dial" && argc == 4)) {
        std::fprintf(stderr, "usage: meshkit_noise_peer echo | dial PORT ID\n");
        return 2;
    }
    asio::io_context io;
    udp::steady_clock clock(io);
    security::secure_transport<udp::transport> t(io, endpoint::v4(127, 0, 0, 1, 0));
    auto const key = security::signing_key::generate();
    t.use_identity(key, [&clock] { return clock.now(); }, 0);
    int status = 1;
    // These outlive io.run(): the timers and handlers below refer to them.
    std::function<void()> again;
    std::string const hello = "hello from meshkit";
    endpoint peer;
    auto text = [](std::span<std::byte const> d) { return std::string(reinterpret_cast<char const*>(d.data()), d.size()); };
    if (mode == "echo") {
        std::printf("%u %s\n", t.local_endpoint().port, key.id().to_hex().c_str());
        std::fflush(stdout);
        t.on_receive([&](endpoint const& from, std::span<std::byte const> d) {
            std::string const got = text(d);
            if (got == "bye") {
                status = 0;
                io.stop();
                return;
            }
            std::string const reply = "echo:" + got;
            (void)t.send(from, std::as_bytes(std::span(reply.data(), reply.size())));
        });
    } else {
        auto const port = static_cast<std::uint16_t>(std::atoi(argv[2]));
        auto const expected = node_id::parse(argv[3]);
        if (!expected) {
            std::fprintf(stderr, "meshkit_noise_peer: ID must be 64 hex digits\n");
            return 2;
        }
        peer = endpoint::v4(127, 0, 0, 1, port);
        t.expect_peer(peer, *expected);
        t.on_receive([&](endpoint const&, std::span<std::byte const> d) {
            std::string const got = text(d);
            std::printf("%s\n", got.c_str());
            status = got == "echo:" + hello ? 0 : 1;
            io.stop();
        });
        (void)t.send(peer, std::as_bytes(std::span(hello.data(), hello.size())));
        // A lost handshake message is resent on the next send: send again each second until answered.
        again = [&] {
            (void)clock.set_timer(clock.now() + std::chrono::seconds(1), [&] {
                (void)t.send(peer, std::as_bytes(std::span(hello.data(), hello.size())));
                again();
            });
        };
        again();
    }
    (void)clock.set_timer(clock.now() + std::chrono::seconds(20), [&] { io.stop(); });
    io.run();
    auto const& s = t.stats();
    std::fprintf(stderr, "meshkit_noise_peer: handshakes %llu, failures %llu, opened %llu, sealed %llu\n",
                 static_cast<unsigned long long>(s.handshakes_completed),
                 static_cast<unsigned long long>(s.handshake_failures),
                 static_cast<unsigned long long>(s.datagrams_opened), static_cast<unsigned long long>(s.datagrams_sealed));
    return status;
}

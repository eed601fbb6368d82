// Test that header file is self-contained.
#include <meshkit/tcp/transport.hpp>

#include <meshkit/concepts/stream_transport.hpp>
#include <meshkit/stream_error.hpp>

#include <support/bytes.hpp>

#include <asio/buffer.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>

#include <gtest/gtest.h>
#include <support/run_until.hpp>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <variant>
#include <vector>

// The TCP stream transport on 127.0.0.1 (docs/tcp.md): every test listens on
// port 0, runs a real io_context, and waits for what it expects under a
// deadline. Raw Asio sockets play peers that misbehave.

namespace {

using namespace meshkit;
using namespace std::chrono_literals;
using test::bytes_of;
using test::text_of;

static_assert(meshkit::stream_transport<tcp::transport>);
static_assert(meshkit::detail::check_stream_transport<tcp::transport>());

endpoint const loopback = endpoint::v4(127, 0, 0, 1, 0);

using test::run_until;

/// Runs `io` for `d`, whatever happens.
void run_for(asio::io_context& io, std::chrono::milliseconds d)
{
    if (io.stopped())
        io.restart();
    io.run_for(d);
}

/// Everything one transport reported, in order.
struct journal {
    std::vector<stream_connected> connected;
    std::vector<std::pair<stream_id, std::string>> frames;
    std::vector<stream_closed> closed;
    std::vector<stream_id> writable;
    int calls = 0;

    void attach(tcp::transport& t)
    {
        t.on_stream([this](stream_event const& ev) {
            ++calls;
            if (auto const* c = std::get_if<stream_connected>(&ev))
                connected.push_back(*c);
            else if (auto const* f = std::get_if<stream_frame>(&ev))
                frames.emplace_back(f->id, text_of(f->bytes));
            else if (auto const* d = std::get_if<stream_closed>(&ev))
                closed.push_back(*d);
            else if (auto const* w = std::get_if<stream_writable>(&ev))
                writable.push_back(w->id);
        });
    }
    [[nodiscard]] std::optional<std::error_code> closed_reason(stream_id id) const
    {
        for (auto const& c : closed)
            if (c.id == id)
                return c.reason;
        return std::nullopt;
    }
    [[nodiscard]] std::optional<stream_id> inbound() const
    {
        for (auto const& c : connected)
            if (c.inbound)
                return c.id;
        return std::nullopt;
    }
    [[nodiscard]] bool is_connected(stream_id id) const
    {
        return std::any_of(connected.begin(), connected.end(), [&](auto const& c) { return c.id == id; });
    }
};

/// Two transports with an open stream between them.
struct pair_fixture {
    explicit pair_fixture(stream_settings s = {}) : a(io, loopback, s), b(io, loopback, s)
    {
        at_a.attach(a);
        at_b.attach(b);
        ida = a.connect(b.local_endpoint());
        EXPECT_TRUE(run_until(io, [&] { return at_a.is_connected(ida) && at_b.inbound(); }));
        idb = at_b.inbound().value_or(stream_id{});
    }
    asio::io_context io;
    tcp::transport a, b;
    journal at_a, at_b;
    stream_id ida{}, idb{};
};

/// A port on 127.0.0.1 where nothing listens: one the kernel gave out and took back.
endpoint closed_port(asio::io_context& io)
{
    asio::ip::tcp::acceptor acceptor(io, tcp::transport::to_asio(loopback));
    return tcp::transport::from_asio(acceptor.local_endpoint());
}

TEST(TcpTransport, ListensOnLoopbackWithAKernelChosenPort)
{
    asio::io_context io;
    tcp::transport a{io, endpoint{}};
    tcp::transport b{io, loopback};
    EXPECT_EQ(a.local_endpoint().v4_address(), 0x7f000001u);
    EXPECT_NE(a.local_endpoint().port, 0);
    EXPECT_NE(b.local_endpoint().port, a.local_endpoint().port);
    EXPECT_EQ(a.max_frame_size(), std::size_t{1} << 20);
    EXPECT_EQ(a.max_queued_bytes(), std::size_t{4} << 20);
    EXPECT_THROW((tcp::transport{io, a.local_endpoint()}), std::system_error);
}

TEST(TcpTransport, ConnectsAcceptsAndCarriesFramesBothWaysInOrder)
{
    pair_fixture f;
    ASSERT_EQ(f.at_a.connected.size(), 1u);
    EXPECT_FALSE(f.at_a.connected[0].inbound);
    EXPECT_EQ(f.at_a.connected[0].peer, f.b.local_endpoint());
    ASSERT_EQ(f.at_b.connected.size(), 1u);
    EXPECT_EQ(f.at_b.connected[0].peer.v4_address(), 0x7f000001u); // the connecting socket's ephemeral port
    for (int i = 0; i < 1000; ++i) {
        ASSERT_FALSE(f.a.send(f.ida, bytes_of("a" + std::to_string(i))));
        ASSERT_FALSE(f.b.send(f.idb, bytes_of("b" + std::to_string(i))));
    }
    ASSERT_FALSE(f.a.send(f.ida, {})); // an empty frame is a frame
    ASSERT_TRUE(run_until(f.io, [&] { return f.at_a.frames.size() == 1000 && f.at_b.frames.size() == 1001; }));
    for (int i = 0; i < 1000; ++i) {
        auto const k = static_cast<std::size_t>(i);
        EXPECT_EQ(f.at_b.frames[k], std::make_pair(f.idb, "a" + std::to_string(i)));
        EXPECT_EQ(f.at_a.frames[k], std::make_pair(f.ida, "b" + std::to_string(i)));
    }
    EXPECT_EQ(f.at_b.frames.back().second, "");
    EXPECT_EQ(f.a.stats().connected, 1u);
    EXPECT_EQ(f.b.stats().accepted, 1u);
    EXPECT_EQ(f.b.stats().frames_received, 1001u);
    EXPECT_EQ(f.a.open_streams(), 1u);
}

TEST(TcpTransport, CarriesAFrameAtTheLimitAndRefusesOneAbove)
{
    stream_settings s;
    s.max_frame_size = 256 * 1024;
    s.max_queued_bytes = 1024 * 1024;
    pair_fixture f{s};
    std::vector<std::byte> big(s.max_frame_size);
    for (std::size_t i = 0; i < big.size(); ++i)
        big[i] = static_cast<std::byte>(i * 7 % 251);
    ASSERT_FALSE(f.a.send(f.ida, big));
    std::vector<std::byte> over(s.max_frame_size + 1);
    EXPECT_EQ(f.a.send(f.ida, over), stream_errc::frame_too_large);
    ASSERT_TRUE(run_until(f.io, [&] { return f.at_b.frames.size() == 1; }));
    EXPECT_EQ(f.at_b.frames[0].second, text_of(big));
    EXPECT_TRUE(f.at_b.closed.empty());
}

TEST(TcpTransport, APeerAnnouncingAnOversizedFrameIsDisconnectedWithoutAllocatingIt)
{
    asio::io_context io;
    tcp::transport t{io, loopback};
    journal j;
    j.attach(t);
    asio::ip::tcp::socket raw{io};
    raw.connect(tcp::transport::to_asio(t.local_endpoint()));
    ASSERT_TRUE(run_until(io, [&] { return j.inbound().has_value(); }));
#if defined(__GLIBC__)
    auto const before = ::mallinfo2().uordblks;
#endif
    // 1 GiB announced, against the 1 MiB limit.
    std::array<std::uint8_t, 8> const hostile{0x40, 0x00, 0x00, 0x00, 'j', 'u', 'n', 'k'};
    asio::write(raw, asio::buffer(hostile));
    ASSERT_TRUE(run_until(io, [&] { return !j.closed.empty(); }));
    EXPECT_EQ(j.closed[0].id, *j.inbound());
    EXPECT_EQ(j.closed[0].reason, stream_errc::peer_frame_too_large);
    EXPECT_EQ(t.stats().oversized_frames, 1u);
    EXPECT_TRUE(j.frames.empty());
#if defined(__GLIBC__)
    EXPECT_LT(::mallinfo2().uordblks, before + 1024 * 1024); // nothing near 1 GiB was allocated
#endif
    // The peer is cut off: its next read ends (reset or EOF), never hangs.
    std::array<std::byte, 16> sink{};
    std::error_code ec;
    raw.read_some(asio::buffer(sink), ec);
    EXPECT_TRUE(ec);
    EXPECT_EQ(t.open_streams(), 0u);
}

TEST(TcpTransport, ARefusedConnectionIsReportedAsRefused)
{
    asio::io_context io;
    tcp::transport t{io, loopback};
    journal j;
    j.attach(t);
    auto const id = t.connect(closed_port(io));
    EXPECT_EQ(j.calls, 0); // never inside connect
    ASSERT_TRUE(run_until(io, [&] { return !j.closed.empty(); }));
    EXPECT_EQ(j.closed[0].id, id);
    EXPECT_EQ(j.closed[0].reason, stream_errc::refused);
    EXPECT_EQ(j.closed[0].reason, std::errc::connection_refused);
    EXPECT_TRUE(j.connected.empty());
    EXPECT_EQ(t.stats().refused, 1u);
    EXPECT_EQ(t.send(id, bytes_of("x")), stream_errc::not_connected);
}

TEST(TcpTransport, AnUnansweredConnectTimesOutAsUnreachable)
{
    // A listener whose accept queue is full drops further SYNs: the connect hangs.
    asio::io_context io;
    asio::ip::tcp::acceptor full{io};
    auto const where = tcp::transport::to_asio(loopback);
    full.open(where.protocol());
    full.bind(where);
    full.listen(0);
    std::vector<std::unique_ptr<asio::ip::tcp::socket>> fillers;
    for (int i = 0; i < 2; ++i) {
        fillers.push_back(std::make_unique<asio::ip::tcp::socket>(io));
        fillers.back()->async_connect(full.local_endpoint(), [](std::error_code) {});
    }
    run_for(io, 50ms);
    stream_settings s;
    s.connect_timeout = 300ms;
    tcp::transport t{io, loopback, s};
    journal j;
    j.attach(t);
    auto const start = std::chrono::steady_clock::now();
    auto const id = t.connect(tcp::transport::from_asio(full.local_endpoint()));
    ASSERT_TRUE(run_until(io, [&] { return !j.closed.empty() || !j.connected.empty(); }));
    ASSERT_EQ(j.closed.size(), 1u);
    EXPECT_EQ(j.closed[0].id, id);
    EXPECT_EQ(j.closed[0].reason, stream_errc::unreachable);
    EXPECT_GE(std::chrono::steady_clock::now() - start, 290ms);
    EXPECT_EQ(t.stats().unreachable, 1u);
}

TEST(TcpTransport, ACloseSendsWhatWasQueuedThenThePeerSeesClosedByPeer)
{
    pair_fixture f;
    for (int i = 0; i < 100; ++i)
        ASSERT_FALSE(f.a.send(f.ida, bytes_of(std::to_string(i))));
    f.a.close(f.ida);
    EXPECT_EQ(f.a.send(f.ida, bytes_of("late")), stream_errc::not_connected);
    EXPECT_TRUE(f.at_a.closed.empty()); // posted, never inside close
    ASSERT_TRUE(run_until(f.io, [&] { return f.at_b.closed_reason(f.idb) && f.at_a.closed_reason(f.ida); }));
    EXPECT_EQ(f.at_b.frames.size(), 100u);
    EXPECT_EQ(f.at_b.frames.back().second, "99");
    EXPECT_EQ(*f.at_b.closed_reason(f.idb), stream_errc::closed_by_peer);
    EXPECT_EQ(*f.at_a.closed_reason(f.ida), stream_errc::closed_locally);
    // The closing side's socket goes once the peer has closed its side too.
    ASSERT_TRUE(run_until(f.io, [&] { return f.a.open_streams() == 0 && f.a.queued_bytes(f.ida) == 0; }));
    EXPECT_EQ(f.at_a.closed.size(), 1u);
    EXPECT_EQ(f.at_b.closed.size(), 1u);
}

TEST(TcpTransport, APeerThatResetsIsReportedAsReset)
{
    asio::io_context io;
    tcp::transport t{io, loopback};
    journal j;
    j.attach(t);
    asio::ip::tcp::socket raw{io};
    raw.connect(tcp::transport::to_asio(t.local_endpoint()));
    ASSERT_TRUE(run_until(io, [&] { return j.inbound().has_value(); }));
    raw.set_option(asio::socket_base::linger(true, 0));
    raw.close(); // RST, not FIN
    ASSERT_TRUE(run_until(io, [&] { return !j.closed.empty(); }));
    EXPECT_EQ(j.closed[0].reason, stream_errc::connection_reset);
    EXPECT_EQ(t.stats().resets, 1u);
}

TEST(TcpTransport, APeerThatDiesMidFrameIsAResetNotAClose)
{
    asio::io_context io;
    tcp::transport t{io, loopback};
    journal j;
    j.attach(t);
    asio::ip::tcp::socket raw{io};
    raw.connect(tcp::transport::to_asio(t.local_endpoint()));
    std::array<std::uint8_t, 6> const partial{0, 0, 0, 10, 'a', 'b'}; // 10 bytes announced, 2 sent
    asio::write(raw, asio::buffer(partial));
    raw.shutdown(asio::ip::tcp::socket::shutdown_send);
    ASSERT_TRUE(run_until(io, [&] { return !j.closed.empty(); }));
    EXPECT_EQ(j.closed[0].reason, stream_errc::connection_reset);
    EXPECT_TRUE(j.frames.empty());
}

TEST(TcpTransport, AFullQueueRefusesUntilThePeerReadsThenSaysWritable)
{
    asio::io_context io;
    asio::ip::tcp::acceptor peer{io};
    auto const where = tcp::transport::to_asio(loopback);
    peer.open(where.protocol());
    peer.set_option(asio::socket_base::receive_buffer_size(4096)); // inherited by the accepted socket
    peer.bind(where);
    peer.listen();
    stream_settings s;
    s.max_frame_size = 64 * 1024;
    s.max_queued_bytes = 256 * 1024;
    tcp::transport t{io, loopback, s};
    journal j;
    j.attach(t);
    auto const id = t.connect(tcp::transport::from_asio(peer.local_endpoint()));
    asio::ip::tcp::socket lazy{io};
    peer.accept(lazy); // and never reads, for now
    ASSERT_TRUE(run_until(io, [&] { return j.is_connected(id); }));

    // Send until the queue is full and stays full: the kernel's buffers are
    // full too, and nothing moves while the peer does not read.
    std::vector<std::byte> const frame(64 * 1024, std::byte{1});
    std::size_t sent_frames = 0;
    bool stuck = false;
    auto const deadline = std::chrono::steady_clock::now() + 10s;
    while (!stuck && std::chrono::steady_clock::now() < deadline && sent_frames < 1024) {
        std::error_code ec;
        while (!(ec = t.send(id, frame)))
            ++sent_frames;
        ASSERT_EQ(ec, stream_errc::queue_full); // nothing accepted
        auto const queued = t.queued_bytes(id);
        EXPECT_LE(queued, s.max_queued_bytes);
        EXPECT_GT(queued + frame.size() + 4, s.max_queued_bytes);
        run_for(io, 100ms);
        stuck = t.queued_bytes(id) == queued;
    }
    ASSERT_TRUE(stuck) << "sent " << sent_frames << " frames without lasting backpressure";
    EXPECT_LT(sent_frames, 1024u);
    j.writable.clear();

    // The peer starts reading: the queue drains, and the transport says so once.
    std::vector<std::byte> sink(64 * 1024);
    std::size_t drained = 0;
    std::function<void()> read_more = [&] {
        lazy.async_read_some(asio::buffer(sink), [&](std::error_code ec, std::size_t n) {
            drained += n;
            if (!ec)
                read_more();
        });
    };
    read_more();
    ASSERT_TRUE(run_until(io, [&] { return !j.writable.empty(); }, 10s));
    EXPECT_EQ(j.writable[0], id);
    EXPECT_LE(t.queued_bytes(id), s.max_queued_bytes / 2);
    EXPECT_FALSE(t.send(id, frame));
    ++sent_frames;
    ASSERT_TRUE(run_until(io, [&] { return drained == sent_frames * (frame.size() + 4); }, 10s));
    EXPECT_EQ(j.writable.size(), 1u);
    lazy.close();
}

TEST(TcpTransport, AHandlerMayDestroyItsTransport)
{
    asio::io_context io;
    tcp::transport a{io, loopback};
    auto b = std::make_unique<tcp::transport>(io, loopback);
    journal at_a;
    at_a.attach(a);
    int frames = 0;
    b->on_stream([&](stream_event const& ev) {
        if (std::holds_alternative<stream_frame>(ev)) {
            ++frames;
            b.reset(); // from inside its own handler
        }
    });
    auto const id = a.connect(b->local_endpoint());
    ASSERT_TRUE(run_until(io, [&] { return at_a.is_connected(id); }));
    ASSERT_FALSE(a.send(id, bytes_of("one")));
    ASSERT_FALSE(a.send(id, bytes_of("two")));
    ASSERT_TRUE(run_until(io, [&] { return !at_a.closed.empty(); }));
    EXPECT_EQ(frames, 1);
    EXPECT_EQ(b, nullptr);
    // Both frames were in the kernel's buffer when the socket closed: the peer may see FIN or RST.
    auto const reason = at_a.closed[0].reason;
    EXPECT_TRUE(reason == stream_errc::closed_by_peer || reason == stream_errc::connection_reset) << reason.message();
}

TEST(TcpTransport, ADestroyedTransportCallsNoHandler)
{
    asio::io_context io;
    tcp::transport peer{io, loopback};
    journal at_peer;
    at_peer.attach(peer);
    int calls = 0;
    auto t = std::make_unique<tcp::transport>(io, loopback);
    t->on_stream([&](stream_event const&) { ++calls; });
    auto const id = t->connect(peer.local_endpoint());
    ASSERT_TRUE(run_until(io, [&] { return calls == 1 && at_peer.inbound(); }));
    // Leave work of every kind pending: a write, a posted close, a refusal, a read.
    ASSERT_FALSE(t->send(id, bytes_of("x")));
    ASSERT_FALSE(peer.send(*at_peer.inbound(), bytes_of("y")));
    (void)t->connect(closed_port(io));
    t->close(id);
    t.reset();
    run_for(io, 200ms);
    EXPECT_EQ(calls, 1);
}

TEST(TcpTransport, NoEventIsDeliveredInsideACall)
{
    pair_fixture f;
    int const before = f.at_a.calls + f.at_b.calls;
    ASSERT_FALSE(f.a.send(f.ida, bytes_of("x")));
    (void)f.a.connect(f.b.local_endpoint());
    (void)f.a.connect(closed_port(f.io));
    f.a.close(f.ida);
    f.b.close(f.idb);
    EXPECT_EQ(f.at_a.calls + f.at_b.calls, before);
    ASSERT_TRUE(run_until(f.io, [&] { return f.at_a.closed.size() == 2; }));
}

TEST(TcpTransport, ConvertsEndpointsAndFoldsV4MappedAddressesToV4)
{
    // What the TCP transport reports is a TCP address.
    auto const e = endpoint::v4(10, 1, 2, 3, 4567).on(transport_protocol::tcp);
    EXPECT_EQ(tcp::transport::from_asio(tcp::transport::to_asio(e)), e);
    asio::ip::tcp::endpoint const mapped{asio::ip::make_address("::ffff:10.1.2.3"), 4567};
    EXPECT_EQ(tcp::transport::from_asio(mapped), e);
}

} // namespace

// A node with two transports: engines send datagram messages and stream
// messages side by side, each on the channel its kind names; the node opens
// streams on first use, keeps them, and tells engines and the application
// when they open and end. On the simulator, and on real UDP + TCP.

#include <meshkit/metrics/in_memory_metrics.hpp>
#include <meshkit/node_policies.hpp>
#include <meshkit/sim/stream_transport.hpp>
#include <meshkit/tcp/transport.hpp>
#include <meshkit/udp/udp_policies.hpp>

#include <asio/io_context.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <variant>
#include <vector>

namespace {

using namespace meshkit;
using namespace std::chrono_literals;

/// Larger than any datagram: it can only travel on a stream.
struct chunk {
    static constexpr wire::type_id wire_id = wire::user_first + 200;
    static constexpr wire::channel travels_on = wire::channel::stream;
    std::uint32_t seq = 0;
    std::vector<std::byte> data;
};

/// A small datagram alongside.
struct beat {
    static constexpr wire::type_id wire_id = wire::user_first + 201;
    std::uint32_t seq = 0;
};

/// Sends `count` chunks and beats to every candidate; records what arrives, and how.
class bulk {
public:
    using messages = wire::registry<chunk, beat>;
    using events = type_list<>;

    std::uint32_t count = 40;
    std::size_t chunk_bytes = 4000;
    std::vector<std::uint32_t> chunks, beats;
    std::vector<std::error_code> send_errors;
    std::vector<stream_opened> opened;
    std::vector<stream_ended> ended;

    template <class Ctx>
    void add_candidate(Ctx& ctx, endpoint const& peer)
    {
        for (std::uint32_t i = 0; i < count; ++i) {
            // The same node's stream address: its IP and port over TCP.
            if (auto ec = ctx.send(peer.on(transport_protocol::tcp),
                                   chunk{i, std::vector<std::byte>(chunk_bytes, std::byte{0x5a})}))
                send_errors.push_back(ec);
            if (auto ec = ctx.send(peer, beat{i}))
                send_errors.push_back(ec);
        }
    }

    template <class Ctx>
    void on_message(Ctx&, inbound const& in, chunk const& c)
    {
        EXPECT_EQ(in.channel, wire::channel::stream);
        EXPECT_EQ(c.data.size(), chunk_bytes);
        chunks.push_back(c.seq);
    }

    template <class Ctx>
    void on_message(Ctx&, inbound const& in, beat const& b)
    {
        EXPECT_EQ(in.channel, wire::channel::datagram);
        beats.push_back(b.seq);
    }

    template <class Ctx>
    void on_event(Ctx&, stream_opened const& e)
    {
        opened.push_back(e);
    }

    template <class Ctx>
    void on_event(Ctx&, stream_ended const& e)
    {
        ended.push_back(e);
    }
};

struct sim_stream_policies : sim_policies {
    using transports = type_list<sim::transport, sim::stream_transport>;
    using engines = type_list<bulk>;
};
using sim_stream_node = basic_node<sim_stream_policies>;

std::vector<std::uint32_t> first(std::uint32_t n)
{
    std::vector<std::uint32_t> v(n);
    for (std::uint32_t i = 0; i < n; ++i)
        v[i] = i;
    return v;
}

TEST(NodeStreams, StreamMessagesArriveWholeAndInOrderBesideDatagrams)
{
    sim::network net{81};
    sim_stream_node a{net}, b{net};
    a.start();
    b.start();
    a.join(b.local_endpoint());
    net.advance(5s);
    auto const& got = b.engine<bulk>();
    EXPECT_TRUE(a.engine<bulk>().send_errors.empty());
    EXPECT_EQ(got.chunks, first(40)) << "every 4,000-byte chunk, in order, once";
    EXPECT_EQ(got.beats.size(), 40u);
    EXPECT_EQ(a.stats().frames_sent, 40u);
    EXPECT_EQ(b.stats().frames_received, 40u);
    // One stream, seen opening on both sides; the receiver's is inbound.
    ASSERT_EQ(a.engine<bulk>().opened.size(), 1u);
    EXPECT_EQ(a.engine<bulk>().opened[0].peer, b.local_endpoint(wire::channel::stream));
    EXPECT_EQ(a.engine<bulk>().opened[0].peer.transport, transport_protocol::tcp);
    EXPECT_FALSE(a.engine<bulk>().opened[0].inbound);
    ASSERT_EQ(got.opened.size(), 1u);
    EXPECT_TRUE(got.opened[0].inbound);

    // A crash resets the stream: the survivor hears it ended, with the reason.
    net.crash(b.local_endpoint());
    net.advance(5s);
    ASSERT_EQ(a.engine<bulk>().ended.size(), 1u);
    EXPECT_EQ(a.engine<bulk>().ended[0].reason, stream_errc::connection_reset);
    EXPECT_EQ(a.engine<bulk>().ended[0].unsent, 0u);
}

TEST(NodeStreams, AHostWithoutStreamsRefusesAndWhatWaitedIsReported)
{
    sim::network net{82};
    sim_stream_node a{net};
    sim_node datagrams_only{net}; // no stream listener at its address
    a.engine<bulk>().count = 3;
    a.start();
    datagrams_only.start();
    a.join(datagrams_only.local_endpoint());
    net.advance(5s);
    auto const& e = a.engine<bulk>();
    ASSERT_EQ(e.ended.size(), 1u);
    EXPECT_EQ(e.ended[0].peer, datagrams_only.local_endpoint().on(transport_protocol::tcp));
    EXPECT_EQ(e.ended[0].reason, stream_errc::refused);
    EXPECT_EQ(e.ended[0].unsent, 3u) << "the three chunks that waited for the stream are reported, not dropped";
    EXPECT_TRUE(e.opened.empty());
}

TEST(NodeStreams, AStreamMessageForgedIntoADatagramIsRefused)
{
    sim::network net{83};
    sim_stream_node a{net};
    a.start();
    sim::transport evil(net, net.next_endpoint());
    std::vector<std::byte> bytes;
    sim_stream_node::messages::encode(wire::envelope{chunk::wire_id, node_id::from_seed(9), 1, 0},
                                      chunk{1, std::vector<std::byte>(16)}, bytes);
    (void)evil.send(a.local_endpoint(), bytes);
    net.advance(1s);
    EXPECT_EQ(a.stats().decode_errors, 1u);
    EXPECT_TRUE(a.engine<bulk>().chunks.empty());
}

struct sim_stream_metered_policies : sim_stream_policies {
    using metrics = ::meshkit::metrics::in_memory_metrics;
};

TEST(NodeStreams, AnAddressOnTheWrongTransportIsRefusedAndCountedNeverSentElsewhere)
{
    sim::network net{85};
    basic_node<sim_stream_metered_policies> a{net};
    sim_stream_node b{net};
    b.engine<bulk>().count = 0;
    b.engine<bulk>().chunk_bytes = 8;
    a.engine<bulk>().count = 0;
    a.start();
    b.start();
    // One IP and port, two transports: the node names both.
    endpoint const b_udp = b.local_endpoint(), b_tcp = b.local_endpoint(wire::channel::stream);
    EXPECT_EQ(b_udp.transport, transport_protocol::udp);
    EXPECT_EQ(b_tcp, b_udp.on(transport_protocol::tcp));
    EXPECT_EQ(b.local_endpoints(), (std::vector<endpoint>{b_udp, b_tcp}));

    std::vector<std::error_code> results;
    a.with_engine<bulk>([&](bulk&, auto& ctx) {
        results.push_back(ctx.send(b_udp, chunk{1, std::vector<std::byte>(8)}));       // stream kind, UDP address
        results.push_back(ctx.send(b_tcp, beat{1}));                                  // datagram kind, TCP address
        results.push_back(ctx.send(b_udp.on(transport_protocol{200}), beat{2}));      // a transport a lacks
        results.push_back(ctx.send(b_udp, beat{3}));                                  // right
        results.push_back(ctx.send(b_tcp, chunk{4, std::vector<std::byte>(8)}));       // right
    });
    net.advance(2s);
    EXPECT_EQ(results, (std::vector<std::error_code>{errc::wrong_channel, errc::wrong_channel,
                                                     errc::unknown_transport, {}, {}}));
    EXPECT_EQ(a.stats().send_errors, 3u);
    EXPECT_EQ(a.metrics().counter("meshkit_send_no_transport_total"), 3u);
    auto const& got = b.engine<bulk>();
    EXPECT_EQ(got.beats, (std::vector<std::uint32_t>{3})) << "only the well-addressed datagram arrives";
    EXPECT_EQ(got.chunks, (std::vector<std::uint32_t>{4})) << "only the well-addressed frame arrives";
}

TEST(NodeStreams, TheSameSeedGivesTheSameTrace)
{
    auto run = [] {
        sim::network net{84};
        sim_stream_node a{net}, b{net};
        a.start();
        b.start();
        a.join(b.local_endpoint());
        b.join(a.local_endpoint());
        net.advance(5s);
        return net.trace_hash();
    };
    EXPECT_EQ(run(), run());
}

struct udp_tcp_policies : udp_policies {
    using transports = type_list<udp::transport, tcp::transport>;
    using engines = type_list<bulk>;
};
using udp_tcp_node = basic_node<udp_tcp_policies>;

TEST(NodeStreams, OverRealUdpAndTcpOnLoopback)
{
    asio::io_context io;
    node_config c;
    c.listen = endpoint::v4(127, 0, 0, 1, 0);
    udp_tcp_node a{io, c}, b{io, c};
    a.start();
    b.start();
    a.join(b.local_endpoint());
    auto const& got = b.engine<bulk>();
    auto const deadline = std::chrono::steady_clock::now() + 5s;
    while ((got.chunks.size() < 40 || got.beats.size() < 40) && std::chrono::steady_clock::now() < deadline)
        io.run_for(10ms);
    EXPECT_EQ(got.chunks, first(40)) << "TCP carries every chunk, in order";
    EXPECT_EQ(got.beats.size(), 40u) << "UDP carries the beats (loopback loses none)";
    ASSERT_EQ(got.opened.size(), 1u);
    EXPECT_TRUE(got.opened[0].inbound);
    // The kernel's two port spaces: one port number, a UDP and a TCP address.
    EXPECT_EQ(b.local_endpoint(wire::channel::stream), b.local_endpoint().on(transport_protocol::tcp));
    EXPECT_EQ(a.engine<bulk>().opened.at(0).peer, b.local_endpoint(wire::channel::stream));
}

} // namespace

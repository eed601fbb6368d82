// Test that header file is self-contained.
#include <meshkit/sim/stream_transport.hpp>

#include <meshkit/sim/network.hpp>
#include <meshkit/sim/transport.hpp>
#include <meshkit/stream_error.hpp>

#include <support/bytes.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <variant>
#include <vector>

// The simulator's stream model (docs/simulator.md#streams). Every test has a
// fixed seed and runs in virtual time, so each is exact and bounded.

namespace {

using namespace meshkit;
using namespace std::chrono_literals;
using test::bytes_of;
using test::text_of;

/// One event as a listener saw it, and when.
struct seen {
    enum class kind { connected, frame, closed, writable } what = kind::connected;
    time_point at{};
    stream_id id{};
    std::string text;
    std::error_code reason;
    endpoint peer;
    bool inbound = false;
};

/// A stream listener that records every event.
struct listener {
    explicit listener(sim::network& n, endpoint at = {}, stream_settings s = {}) : net(&n), t(n, at, s)
    {
        t.on_stream([this](stream_event const& ev) { record(ev); });
    }

    void record(stream_event const& ev)
    {
        ++calls;
        seen s;
        s.at = net->now();
        if (auto const* c = std::get_if<stream_connected>(&ev)) {
            s.id = c->id;
            s.peer = c->peer;
            s.inbound = c->inbound;
        } else if (auto const* f = std::get_if<stream_frame>(&ev)) {
            s.what = seen::kind::frame;
            s.id = f->id;
            s.text = text_of(f->bytes);
        } else if (auto const* d = std::get_if<stream_closed>(&ev)) {
            s.what = seen::kind::closed;
            s.id = d->id;
            s.reason = d->reason;
        } else if (auto const* w = std::get_if<stream_writable>(&ev)) {
            s.what = seen::kind::writable;
            s.id = w->id;
        }
        log.push_back(s);
    }

    [[nodiscard]] std::vector<seen> of(seen::kind k) const
    {
        std::vector<seen> out;
        for (auto const& s : log)
            if (s.what == k)
                out.push_back(s);
        return out;
    }
    [[nodiscard]] std::optional<seen> connected() const
    {
        auto v = of(seen::kind::connected);
        return v.empty() ? std::nullopt : std::optional<seen>(v.front());
    }
    [[nodiscard]] std::optional<seen> closed(stream_id id) const
    {
        std::optional<seen> out;
        for (auto const& s : log)
            if (s.what == seen::kind::closed && s.id == id) {
                EXPECT_FALSE(out) << "two closed events for one id";
                out = s;
            }
        return out;
    }
    [[nodiscard]] std::vector<std::string> frames() const
    {
        std::vector<std::string> out;
        for (auto const& s : of(seen::kind::frame))
            out.push_back(s.text);
        return out;
    }

    sim::network* net;
    sim::stream_transport t;
    std::vector<seen> log;
    int calls = 0;
};

/// Opens a stream from `a` to `b` and runs until both ends are up; returns (a's id, b's id).
std::pair<stream_id, stream_id> open(sim::network& net, listener& a, listener& b)
{
    auto const id = a.t.connect(b.t.local_endpoint());
    net.advance(1s);
    auto const in = b.connected();
    EXPECT_TRUE(in && a.connected());
    return {id, in ? in->id : stream_id{}};
}

sim::link_model link(duration latency, std::uint64_t bandwidth = 12'500'000)
{
    sim::link_model m{sim::latency_distribution::fixed(latency)};
    m.bandwidth = bandwidth;
    return m;
}

TEST(SimStreams, OpeningCostsOneRoundTrip)
{
    sim::network net{1, link(25ms)};
    listener a{net}, b{net};
    auto const id = a.t.connect(b.t.local_endpoint());
    EXPECT_EQ(a.calls, 0); // never inside connect
    net.advance(25ms);
    auto const in = b.connected();
    ASSERT_TRUE(in); // the SYN arrived: the acceptor is open
    EXPECT_TRUE(in->inbound);
    EXPECT_EQ(in->at.time_since_epoch(), 25ms);
    EXPECT_FALSE(a.connected());
    net.advance(25ms);
    auto const out = a.connected();
    ASSERT_TRUE(out); // the SYN-ACK came back: one round trip
    EXPECT_EQ(out->id, id);
    EXPECT_FALSE(out->inbound);
    EXPECT_EQ(out->peer, b.t.local_endpoint());
    EXPECT_EQ(out->at.time_since_epoch(), 50ms);
    EXPECT_EQ(net.stats().streams_opened, 1u);
    EXPECT_EQ(a.t.open_streams(), 1u);
    EXPECT_EQ(b.t.open_streams(), 1u);
}

TEST(SimStreams, TheAcceptorSeesTheConnectorsAddressWithAnEphemeralPort)
{
    sim::network net{2};
    listener a{net}, b{net};
    open(net, a, b);
    auto const in = b.connected();
    ASSERT_TRUE(in);
    EXPECT_EQ(in->peer.v4_address(), a.t.local_endpoint().v4_address());
    EXPECT_GE(in->peer.port, 49152);
    EXPECT_NE(in->peer.port, a.t.local_endpoint().port);
}

TEST(SimStreams, ManyFramesArriveInOrderBothWays)
{
    sim::network net{3, link(10ms)};
    listener a{net}, b{net};
    auto const [ida, idb] = open(net, a, b);
    for (int i = 0; i < 2000; ++i) {
        ASSERT_FALSE(a.t.send(ida, bytes_of("a" + std::to_string(i))));
        ASSERT_FALSE(b.t.send(idb, bytes_of("b" + std::to_string(i))));
    }
    net.advance(1s);
    auto const at_b = b.frames(), at_a = a.frames();
    ASSERT_EQ(at_b.size(), 2000u);
    ASSERT_EQ(at_a.size(), 2000u);
    for (int i = 0; i < 2000; ++i) {
        EXPECT_EQ(at_b[static_cast<std::size_t>(i)], "a" + std::to_string(i));
        EXPECT_EQ(at_a[static_cast<std::size_t>(i)], "b" + std::to_string(i));
    }
    EXPECT_EQ(net.stats().frames_delivered, 4000u);
}

TEST(SimStreams, EmptyFramesAreFrames)
{
    sim::network net{4};
    listener a{net}, b{net};
    auto const [ida, idb] = open(net, a, b);
    ASSERT_FALSE(a.t.send(ida, {}));
    ASSERT_FALSE(a.t.send(ida, bytes_of("x")));
    net.advance(1s);
    EXPECT_EQ(b.frames(), (std::vector<std::string>{"", "x"}));
}

TEST(SimStreams, BandwidthMakesAMegabyteTakeSizeOverBandwidth)
{
    // 1 MB/s and 10 ms: 16 frames of 64 KiB (1 MiB plus 16 four-byte
    // headers) take 1,048,640 / 1,000,000 s on the wire, plus one latency.
    sim::network net{5, link(10ms, 1'000'000)};
    listener a{net}, b{net};
    auto const [ida, idb] = open(net, a, b);
    (void)idb;
    time_point const start = net.now();
    std::vector<std::byte> chunk(64 * 1024, std::byte{7});
    for (int i = 0; i < 16; ++i)
        ASSERT_FALSE(a.t.send(ida, chunk)) << i;
    EXPECT_EQ(a.t.queued_bytes(ida), 16u * (64 * 1024 + 4)); // all still waiting for the wire
    net.advance(5s);
    auto const frames = b.of(seen::kind::frame);
    ASSERT_EQ(frames.size(), 16u);
    auto const took = frames.back().at - start;
    EXPECT_EQ(took, 1'048'640'000ns + 10ms);
    // Frames leave one after another: the first arrives after its own 65,540 bytes.
    EXPECT_EQ(frames.front().at - start, 65'540'000ns + 10ms);
    EXPECT_EQ(a.t.queued_bytes(ida), 0u);
}

TEST(SimStreams, UnlimitedBandwidthCostsOnlyLatency)
{
    sim::network net{6, link(10ms, 0)};
    listener a{net}, b{net};
    auto const [ida, idb] = open(net, a, b);
    (void)idb;
    time_point const start = net.now();
    std::vector<std::byte> chunk(512 * 1024);
    ASSERT_FALSE(a.t.send(ida, chunk));
    EXPECT_EQ(a.t.queued_bytes(ida), 0u);
    net.advance(1s);
    ASSERT_EQ(b.of(seen::kind::frame).size(), 1u);
    EXPECT_EQ(b.of(seen::kind::frame)[0].at - start, 10ms);
}

TEST(SimStreams, StreamsBetweenTwoHostsShareTheLinksBandwidth)
{
    sim::network net{7, link(10ms, 1'000'000)};
    listener a{net}, b{net};
    auto const [s1, r1] = open(net, a, b);
    auto const s2 = a.t.connect(b.t.local_endpoint());
    net.advance(1s);
    (void)r1;
    time_point const start = net.now();
    std::vector<std::byte> chunk(99'996); // 100,000 bytes with the header: 100 ms each at 1 MB/s
    ASSERT_FALSE(a.t.send(s1, chunk));
    ASSERT_FALSE(a.t.send(s2, chunk));
    net.advance(1s);
    auto const frames = b.of(seen::kind::frame);
    ASSERT_EQ(frames.size(), 2u);
    EXPECT_EQ(frames[0].at - start, 110ms);
    EXPECT_EQ(frames[1].at - start, 210ms); // behind the first on the same link
}

TEST(SimStreams, CloseDeliversQueuedFramesThenClosesThePeer)
{
    sim::network net{8, link(10ms)};
    listener a{net}, b{net};
    auto const [ida, idb] = open(net, a, b);
    for (int i = 0; i < 10; ++i)
        ASSERT_FALSE(a.t.send(ida, bytes_of(std::to_string(i))));
    a.t.close(ida);
    EXPECT_FALSE(a.closed(ida)); // reported later, never inside close
    EXPECT_EQ(a.t.send(ida, bytes_of("late")), stream_errc::not_connected);
    a.t.close(ida); // a no-op on a closed id
    net.advance(1s);
    EXPECT_EQ(b.frames().size(), 10u);
    ASSERT_TRUE(b.closed(idb));
    EXPECT_EQ(b.closed(idb)->reason, stream_errc::closed_by_peer);
    EXPECT_EQ(b.log.back().what, seen::kind::closed); // after every frame
    ASSERT_TRUE(a.closed(ida));
    EXPECT_EQ(a.closed(ida)->reason, stream_errc::closed_locally);
    EXPECT_EQ(b.t.send(idb, bytes_of("x")), stream_errc::not_connected);
    EXPECT_EQ(a.t.open_streams(), 0u);
    EXPECT_EQ(b.t.open_streams(), 0u);
    // Ids are never reused.
    auto const again = a.t.connect(b.t.local_endpoint());
    EXPECT_NE(again, ida);
    EXPECT_NE(again, idb);
}

TEST(SimStreams, ACrashResetsBothEnds)
{
    sim::network net{9, link(20ms)};
    listener a{net}, b{net};
    auto const [ida, idb] = open(net, a, b);
    time_point const t0 = net.now();
    net.crash(b.t.local_endpoint());
    EXPECT_EQ(b.t.send(idb, bytes_of("x")), stream_errc::not_connected);
    EXPECT_EQ(a.t.send(ida, bytes_of("into the void")), std::error_code{}); // not known yet
    net.advance(1s);
    ASSERT_TRUE(a.closed(ida));
    EXPECT_EQ(a.closed(ida)->reason, stream_errc::connection_reset);
    EXPECT_EQ(a.closed(ida)->at - t0, 20ms); // the reset travels one latency
    EXPECT_TRUE(b.frames().empty());
    EXPECT_FALSE(b.closed(idb)); // a crashed host runs nothing...
    net.restart(b.t.local_endpoint());
    net.advance(1ms);
    ASSERT_TRUE(b.closed(idb)); // ...and hears of its lost streams when it is back
    EXPECT_EQ(b.closed(idb)->reason, stream_errc::connection_reset);
    // And it can open streams again.
    auto const fresh = b.t.connect(a.t.local_endpoint());
    net.advance(1s);
    EXPECT_EQ(b.of(seen::kind::connected).back().id, fresh);
}

TEST(SimStreams, APartitionResetsBothEndsAndHealingAllowsNewStreams)
{
    sim::network net{10, link(10ms)};
    listener a{net}, b{net};
    auto const [ida, idb] = open(net, a, b);
    ASSERT_FALSE(a.t.send(ida, bytes_of("in flight")));
    net.partition({{a.t.local_endpoint()}, {b.t.local_endpoint()}});
    time_point const t0 = net.now();
    net.advance(1s);
    ASSERT_TRUE(a.closed(ida));
    ASSERT_TRUE(b.closed(idb));
    EXPECT_EQ(a.closed(ida)->reason, stream_errc::connection_reset);
    EXPECT_EQ(b.closed(idb)->reason, stream_errc::connection_reset);
    EXPECT_EQ(a.closed(ida)->at, t0);
    EXPECT_EQ(b.closed(idb)->at, t0);
    EXPECT_TRUE(b.frames().empty()); // the frame in flight was cut
    net.heal();
    auto const again = a.t.connect(b.t.local_endpoint());
    net.advance(1s);
    EXPECT_EQ(a.of(seen::kind::connected).back().id, again);
}

TEST(SimStreams, AHostWithoutAStreamListenerRefusesAfterOneRoundTrip)
{
    sim::network net{11, link(15ms)};
    listener a{net};
    sim::transport datagrams_only{net};
    auto const id = a.t.connect(datagrams_only.local_endpoint());
    net.advance(1s);
    ASSERT_TRUE(a.closed(id));
    EXPECT_EQ(a.closed(id)->reason, stream_errc::refused);
    EXPECT_EQ(a.closed(id)->at.time_since_epoch(), 30ms);
    EXPECT_FALSE(a.connected());
    EXPECT_EQ(net.stats().streams_refused, 1u);
}

TEST(SimStreams, NoAnswerTimesOutAsUnreachable)
{
    sim::network net{12, link(10ms)};
    listener a{net}, crashed{net}, cut{net};
    net.crash(crashed.t.local_endpoint());
    net.partition({{cut.t.local_endpoint()}});
    auto const to_nobody = a.t.connect(net.next_endpoint());
    auto const to_crashed = a.t.connect(crashed.t.local_endpoint());
    auto const across = a.t.connect(cut.t.local_endpoint());
    net.advance(2999ms);
    EXPECT_TRUE(a.of(seen::kind::closed).empty());
    net.advance(1ms); // the default timeout: 3 s
    for (auto id : {to_nobody, to_crashed, across}) {
        ASSERT_TRUE(a.closed(id));
        EXPECT_EQ(a.closed(id)->reason, stream_errc::unreachable);
        EXPECT_EQ(a.closed(id)->at.time_since_epoch(), 3s);
    }
    EXPECT_TRUE(cut.log.empty());
    EXPECT_EQ(net.stats().streams_unreachable, 3u);
}

TEST(SimStreams, TheConnectTimeoutIsASetting)
{
    sim::network net{13};
    stream_settings s;
    s.connect_timeout = 500ms;
    listener a{net, {}, s};
    auto const id = a.t.connect(net.next_endpoint());
    net.advance(1s);
    ASSERT_TRUE(a.closed(id));
    EXPECT_EQ(a.closed(id)->at.time_since_epoch(), 500ms);
}

TEST(SimStreams, AFrameOverTheLimitIsRefusedAndNothingIsQueued)
{
    sim::network net{14};
    stream_settings s;
    s.max_frame_size = 1000;
    s.max_queued_bytes = 4000;
    listener a{net, {}, s}, b{net};
    auto const [ida, idb] = open(net, a, b);
    (void)idb;
    EXPECT_EQ(a.t.max_frame_size(), 1000u);
    EXPECT_EQ(a.t.send(ida, std::vector<std::byte>(1001)), stream_errc::frame_too_large);
    EXPECT_FALSE(a.t.send(ida, std::vector<std::byte>(1000)));
    net.advance(1s);
    ASSERT_EQ(b.frames().size(), 1u);
    EXPECT_EQ(b.frames()[0].size(), 1000u);
    EXPECT_EQ(a.t.send(stream_id{999'999}, bytes_of("x")), stream_errc::not_connected);
}

TEST(SimStreams, AFullQueueRefusesWholeFramesThenSaysWhenToRetry)
{
    // 10 KB/s: a 1,000-byte frame takes 100.4 ms to leave.
    sim::network net{15, link(10ms, 10'000)};
    stream_settings s;
    s.max_frame_size = 1000;
    s.max_queued_bytes = 4016; // four frames with their headers
    listener a{net, {}, s}, b{net};
    auto const [ida, idb] = open(net, a, b);
    (void)idb;
    std::vector<std::byte> const frame(1000);
    for (int i = 0; i < 4; ++i)
        ASSERT_FALSE(a.t.send(ida, frame)) << i;
    EXPECT_EQ(a.t.queued_bytes(ida), 4016u);
    EXPECT_EQ(a.t.send(ida, frame), stream_errc::queue_full);
    EXPECT_EQ(a.t.send(ida, frame), stream_errc::queue_full);
    EXPECT_EQ(a.t.queued_bytes(ida), 4016u); // nothing accepted
    time_point const refused = net.now();
    net.advance(5s);
    auto const w = a.of(seen::kind::writable);
    ASSERT_EQ(w.size(), 1u); // once per refusal spell
    EXPECT_EQ(w[0].id, ida);
    // Half of 4,016 bytes: after two frames have left, 200.8 ms.
    EXPECT_EQ(w[0].at - refused, 200'800'000ns);
    EXPECT_EQ(b.frames().size(), 4u); // the refused frames were never sent
    EXPECT_FALSE(a.t.send(ida, frame));
}

TEST(SimStreams, SettingsThatCannotHoldOneFrameAreRejected)
{
    sim::network net{16};
    stream_settings s;
    s.max_frame_size = 1000;
    s.max_queued_bytes = 1000;
    EXPECT_THROW((sim::stream_transport{net, {}, s}), std::invalid_argument);
}

TEST(SimStreams, AnOversizedFrameFromAPeerResetsTheStreamWithoutACrash)
{
    // A peer with a larger limit (or a hostile one) sends more than this side accepts.
    sim::network net{17, link(10ms)};
    stream_settings small;
    small.max_frame_size = 1024;
    small.max_queued_bytes = 8192;
    listener big{net}, b{net, {}, small};
    auto const [ida, idb] = open(net, big, b);
    ASSERT_FALSE(big.t.send(ida, bytes_of("fine")));
    ASSERT_FALSE(big.t.send(ida, std::vector<std::byte>(4096)));
    ASSERT_FALSE(big.t.send(ida, bytes_of("after")));
    net.advance(1s);
    EXPECT_EQ(b.frames(), (std::vector<std::string>{"fine"}));
    ASSERT_TRUE(b.closed(idb));
    EXPECT_EQ(b.closed(idb)->reason, stream_errc::peer_frame_too_large);
    ASSERT_TRUE(big.closed(ida));
    EXPECT_EQ(big.closed(ida)->reason, stream_errc::connection_reset);
    EXPECT_EQ(net.stats().oversized_frames, 1u);
}

TEST(SimStreams, AStreamListenerSharesItsHostWithADatagramSocket)
{
    sim::network net{18, link(10ms)};
    sim::transport node{net};
    sim::stream_transport streams{net, node.local_endpoint()};
    EXPECT_EQ(streams.host(), node.host());
    // One machine, one IP and port; the listener's address is that port over TCP.
    EXPECT_EQ(streams.local_endpoint(), node.local_endpoint().on(transport_protocol::tcp));
    EXPECT_THROW((sim::stream_transport{net, node.local_endpoint()}), std::system_error);
    EXPECT_THROW((sim::stream_transport{net, streams.local_endpoint()}), std::system_error);

    listener peer{net};
    std::vector<std::string> datagrams;
    node.on_receive([&](endpoint const&, std::span<std::byte const> d) { datagrams.push_back(text_of(d)); });
    std::vector<stream_event> events;
    streams.on_stream([&](stream_event const& ev) { events.push_back(ev); });
    auto const id = peer.t.connect(node.local_endpoint());
    sim::transport sender{net};
    ASSERT_FALSE(sender.send(node.local_endpoint(), bytes_of("datagram")));
    net.advance(1s);
    EXPECT_EQ(datagrams, (std::vector<std::string>{"datagram"}));
    ASSERT_TRUE(peer.connected());
    // One machine: crashing the address resets the streams too.
    net.crash(node.local_endpoint());
    net.advance(1s);
    ASSERT_TRUE(peer.closed(id));
    EXPECT_EQ(peer.closed(id)->reason, stream_errc::connection_reset);
}

TEST(SimStreams, ADatagramSocketCanJoinAStreamOnlyHostAndLeaveItListening)
{
    sim::network net{19};
    auto streams = std::make_unique<listener>(net);
    endpoint const at = streams->t.local_endpoint();
    {
        sim::transport node{net, at}; // joins the stream listener's host
        EXPECT_EQ(node.host(), streams->t.host());
        EXPECT_THROW((sim::transport{net, at}), std::system_error);
    }
    // The datagram socket left; the listener still accepts.
    listener peer{net};
    (void)peer.t.connect(at);
    net.advance(1s);
    EXPECT_TRUE(streams->connected());
    streams.reset();
    EXPECT_FALSE(net.is_up(at)); // nothing is bound there any more
    sim::transport rebound{net, at};
    EXPECT_TRUE(net.is_up(at));
}

TEST(SimStreams, DestroyingATransportClosesItsStreamsGracefully)
{
    sim::network net{20, link(10ms)};
    auto a = std::make_unique<listener>(net);
    listener b{net};
    auto const [ida, idb] = open(net, *a, b);
    ASSERT_FALSE(a->t.send(ida, bytes_of("last words")));
    a.reset();
    net.advance(1s);
    EXPECT_EQ(b.frames(), (std::vector<std::string>{"last words"}));
    ASSERT_TRUE(b.closed(idb));
    EXPECT_EQ(b.closed(idb)->reason, stream_errc::closed_by_peer);
}

TEST(SimStreams, AHandlerMayDestroyItsOwnTransport)
{
    sim::network net{21, link(10ms)};
    listener a{net};
    auto b = std::make_unique<sim::stream_transport>(net);
    int frames = 0;
    b->on_stream([&](stream_event const& ev) {
        if (std::holds_alternative<stream_frame>(ev)) {
            ++frames;
            b.reset(); // from inside its own handler
        }
    });
    auto const id = a.t.connect(b->local_endpoint());
    net.advance(1s);
    ASSERT_FALSE(a.t.send(id, bytes_of("one")));
    ASSERT_FALSE(a.t.send(id, bytes_of("two")));
    net.advance(1s);
    EXPECT_EQ(frames, 1);
    EXPECT_EQ(b, nullptr);
    ASSERT_TRUE(a.closed(id));
    EXPECT_EQ(a.closed(id)->reason, stream_errc::closed_by_peer);
}

TEST(SimStreams, AHandlerMayCallBackIntoItsTransport)
{
    // An echo: every frame is answered from inside the handler.
    sim::network net{22, link(5ms)};
    listener a{net};
    sim::stream_transport echo{net};
    echo.on_stream([&](stream_event const& ev) {
        if (auto const* f = std::get_if<stream_frame>(&ev)) {
            EXPECT_FALSE(echo.send(f->id, f->bytes));
        }
    });
    auto const id = a.t.connect(echo.local_endpoint());
    net.advance(1s);
    for (int i = 0; i < 100; ++i)
        ASSERT_FALSE(a.t.send(id, bytes_of(std::to_string(i))));
    net.advance(1s);
    ASSERT_EQ(a.frames().size(), 100u);
    EXPECT_EQ(a.frames()[99], "99");
}

TEST(SimStreams, AnAddressChangeResetsTheStreams)
{
    sim::network net{23, link(10ms)};
    listener a{net}, b{net};
    auto const [ida, idb] = open(net, a, b);
    ASSERT_FALSE(net.rebind(b.t.local_endpoint(), net.next_endpoint()));
    net.advance(1s);
    ASSERT_TRUE(a.closed(ida));
    ASSERT_TRUE(b.closed(idb));
    EXPECT_EQ(a.closed(ida)->reason, stream_errc::connection_reset);
    EXPECT_EQ(b.closed(idb)->reason, stream_errc::connection_reset);
}

TEST(SimStreams, StreamsDoNotEnterANatButLeaveThroughOne)
{
    sim::network net{24, link(10ms)};
    auto const box = net.add_nat(sim::nat_config::port_restricted_cone());
    listener inside{net, net.next_endpoint_behind(box)}, outside{net};
    auto const in = outside.t.connect(inside.t.local_endpoint());
    auto const out = inside.t.connect(outside.t.local_endpoint());
    net.advance(5s);
    ASSERT_TRUE(outside.closed(in));
    EXPECT_EQ(outside.closed(in)->reason, stream_errc::unreachable);
    ASSERT_TRUE(inside.connected());
    EXPECT_EQ(inside.connected()->id, out);
    auto const accepted = outside.connected();
    ASSERT_TRUE(accepted);
    EXPECT_EQ(accepted->peer.v4_address(), net.nat_address(box).v4_address()); // seen at the NAT's address
}

/// A run mixing streams, datagrams and faults, summarised by its trace hash.
std::uint64_t mixed_run(std::uint64_t seed)
{
    sim::network net{seed, {sim::latency_distribution::uniform(5ms, 40ms)}};
    std::vector<std::unique_ptr<listener>> hosts;
    for (int i = 0; i < 8; ++i)
        hosts.push_back(std::make_unique<listener>(net));
    for (auto& h : hosts)
        h->t.on_stream([&net, self = h.get()](stream_event const& ev) {
            self->record(ev);
            if (auto const* c = std::get_if<stream_connected>(&ev))
                for (int k = 0; k < 5; ++k)
                    self->t.send(c->id, bytes_of("hello " + std::to_string(k) + " " +
                                                 std::to_string(net.rng().between(0, 1000))));
        });
    for (std::size_t i = 0; i < hosts.size(); ++i)
        for (std::size_t j = 0; j < hosts.size(); ++j)
            if (i != j && net.rng().chance(0.5)) {
                (void)hosts[i]->t.connect(hosts[j]->t.local_endpoint());
            }
    net.advance(100ms);
    net.crash(hosts[3]->t.local_endpoint());
    net.partition({{hosts[0]->t.local_endpoint(), hosts[1]->t.local_endpoint()}});
    net.advance(1s);
    net.heal();
    net.restart(hosts[3]->t.local_endpoint());
    net.advance(5s);
    return net.trace_hash();
}

TEST(SimStreams, TheSameSeedGivesTheSameTrace)
{
    EXPECT_EQ(mixed_run(42), mixed_run(42));
    EXPECT_NE(mixed_run(42), mixed_run(43));
}

TEST(SimStreams, NoEventRunsInsideACall)
{
    sim::network net{25};
    listener a{net}, b{net};
    auto const [ida, idb] = open(net, a, b);
    int const before = a.calls + b.calls;
    (void)a.t.connect(b.t.local_endpoint());
    (void)a.t.connect(net.next_endpoint());
    ASSERT_FALSE(a.t.send(ida, bytes_of("x")));
    a.t.close(ida);
    b.t.close(idb);
    EXPECT_EQ(a.calls + b.calls, before);
    net.advance(5s);
    EXPECT_GT(a.calls + b.calls, before);
}

} // namespace

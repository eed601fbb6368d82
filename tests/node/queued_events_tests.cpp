// Queued events: what an engine raises inside a hook reaches the
// application after the hook returns, in order, so a handler may call back
// into the node (join, stop) without running inside an engine's loop.

#include <meshkit/node_policies.hpp>
#include <meshkit/storage/memory_store.hpp>
#include <meshkit/udp/gossip_first_policies.hpp>

#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <string>
#include <variant>
#include <vector>

namespace {

using namespace meshkit;
using namespace std::chrono_literals;

/// A loopback address where nothing listens: its port was bound, then released.
endpoint closed_port(asio::io_context& io)
{
    asio::ip::udp::socket s(io, asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    return endpoint::v4(127, 0, 0, 1, s.local_endpoint().port());
}

struct memory_udp_policies : udp::gossip_first_policies {
    using storage = ::meshkit::storage::memory_store;
};
using udp_ladder_node = basic_node<memory_udp_policies>;

TEST(QueuedEvents, AHandlerThatJoinsFromContactFailedRunsAfterTheConnectorsLoop)
{
    // A real socket: each probe to a closed port comes back as ICMP "port
    // unreachable", and the connector reports contact_failed from inside
    // its loop over candidates. The handler joins a new dead address each
    // time, which adds a candidate: were the event delivered inside that
    // loop, it would grow the vector being iterated.
    asio::io_context io;
    node_config c;
    c.listen = endpoint::v4(127, 0, 0, 1, 0);
    c.seed = 5;
    c.engine<nat::connector>().introducers = 16; // every dead address becomes a candidate
    udp_ladder_node x(io, c, discovery::bootstrap_cache{});
    std::vector<endpoint> dead;
    for (int i = 0; i < 12; ++i)
        dead.push_back(closed_port(io));
    std::map<endpoint, int> failed;
    std::size_t next = 4;
    x.on_event([&](udp_ladder_node::event_type const& e) {
        if (auto const* f = std::get_if<contact_failed>(&e)) {
            ++failed[f->address];
            if (next < dead.size())
                x.join(dead[next++]);
        }
    });
    x.start();
    for (std::size_t i = 0; i < 4; ++i)
        x.join(dead[i]);
    auto const deadline = std::chrono::steady_clock::now() + 5s;
    while (failed.size() < dead.size() && std::chrono::steady_clock::now() < deadline)
        io.run_for(20ms);
    EXPECT_EQ(next, dead.size()) << "the handler's joins did not all run";
    for (endpoint const& d : dead)
        EXPECT_EQ(failed[d], 1) << "each dead address is reported once, " << d.to_string();
}

TEST(QueuedEvents, AHandlerMayStopTheNodeFromInsideADelivery)
{
    sim::network net{17};
    sim_gossip_node a{net};
    node_config cb;
    cb.seed = 2;
    sim_gossip_node b{net, cb, discovery::static_seeds{a.local_endpoint()}};
    // HyParView raises peer_up and link_up in the same hook; the handler
    // stops the node on the first, so the second is still in the queue.
    std::vector<std::string> seen;
    bool stopped_once = false;
    b.on_event([&](sim_gossip_node::event_type const& e) {
        std::string const what = std::holds_alternative<peer_up>(e)       ? "peer_up"
                                 : std::holds_alternative<link_up>(e) ? "link_up"
                                                                          : "";
        if (what.empty() || stopped_once)
            return;
        seen.push_back(b.running() ? what : what + " after stop");
        if (seen.size() == 1)
            b.stop();
        else
            stopped_once = true;
    });
    a.start();
    b.start();
    net.advance(5s);
    EXPECT_FALSE(b.running());
    auto const received = b.stats().datagrams_received;
    net.advance(30s);
    EXPECT_EQ(b.stats().datagrams_received, received) << "a stopped node went on processing datagrams";
    // What the hook raised before the stop is still told to the application, once, in order.
    EXPECT_EQ(seen, (std::vector<std::string>{"peer_up", "link_up after stop"}));

    // It resumes when started again, and the overlay forms.
    b.start();
    net.advance(10s);
    EXPECT_TRUE(b.running());
    EXPECT_EQ(b.engine<membership::hyparview>().active_view().size(), 1u);
}

} // namespace

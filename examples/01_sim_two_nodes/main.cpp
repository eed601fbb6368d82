// Example: two simulated nodes find each other and measure their RTT.
//
// The network owns the clock: nothing happens until net.advance() runs the
// events due. The same seed always gives the same output.

#include <meshkit/meshkit.hpp>

#include <chrono>
#include <cstdio>
#include <variant>

namespace sim = meshkit::sim;
using namespace std::chrono_literals;

int main()
{
    // A network whose links all have 20 ms one-way latency.
    sim::network net{/*seed=*/42, {sim::latency_distribution::fixed(20ms)}};

    meshkit::sim_node a{net};
    // b knows a's address up front: static-seeds discovery.
    meshkit::sim_node b{net, {}, meshkit::discovery::static_seeds{a.local_endpoint()}};

    a.on_event([&](meshkit::sim_node::event_type const& ev) {
        if (auto const* up = std::get_if<meshkit::peer_up>(&ev))
            std::printf("[%5.3f s] a: peer up %s at %s\n", std::chrono::duration<double>(net.now().time_since_epoch()).count(),
                        up->id.short_hex().c_str(), up->address.to_string().c_str());
    });

    a.start();
    b.start();
    net.advance(5s);

    auto const* session = a.engine<meshkit::membership::liveness>().sessions().find(b.id());
    if (!session) {
        std::printf("a never heard from b\n");
        return 1;
    }
    std::printf("a sees b: smoothed RTT %.1f ms over %llu samples (2 x 20 ms links)\n",
                std::chrono::duration<double, std::milli>(session->rtt.smoothed()).count(),
                static_cast<unsigned long long>(session->rtt.samples()));
    std::printf("a sent %llu datagrams, %llu bytes\n", static_cast<unsigned long long>(a.stats().datagrams_sent),
                static_cast<unsigned long long>(a.stats().bytes_sent));
    return 0;
}

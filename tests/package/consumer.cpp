// A program built against meshkit the way a user builds one.
#include <meshkit/meshkit.hpp>

#include <chrono>
#include <cstdio>

int main()
{
    using namespace std::chrono_literals;
    meshkit::sim::network net{1};
    meshkit::sim_node a{net};
    meshkit::sim_node b{net, {}, meshkit::discovery::static_seeds{a.local_endpoint()}};
    a.start();
    b.start();
    net.advance(3s);
    auto const peers = a.engine<meshkit::membership::liveness>().sessions().size();
    std::printf("meshkit %s consumer: a has %zu peer(s)\n", MESHKIT_VERSION_STRING, peers);
    return peers == 1 ? 0 : 1;
}

// Must not compile: the stream transport in a bundle's transports has a send
// that returns bool instead of std::error_code, and basic_node's check must
// say so with meshkit's message (pinned by CTest).
#include <meshkit/node_policies.hpp>
#include <meshkit/sim/stream_transport.hpp>

struct broken_stream_transport : meshkit::sim::stream_transport {
    using meshkit::sim::stream_transport::stream_transport;
    bool send(meshkit::stream_id, std::span<std::byte const>) { return true; }
};

struct broken_policies : meshkit::sim_policies {
    using transports = meshkit::type_list<meshkit::sim::transport, broken_stream_transport>;
};

int main()
{
    meshkit::sim::network net{1};
    meshkit::basic_node<broken_policies> node{net};
}

// Must not compile: two transports of one node claim the same protocol, so
// an endpoint could not say which of them it belongs to; basic_node's check
// must say so with meshkit's message (pinned by CTest).
#include <meshkit/node_policies.hpp>

struct second_udp : meshkit::sim::transport {
    using meshkit::sim::transport::transport;
};

struct clashing_policies : meshkit::sim_policies {
    using transports = meshkit::type_list<meshkit::sim::transport, second_udp>;
};

int main()
{
    meshkit::sim::network net{1};
    meshkit::basic_node<clashing_policies> node{net};
}

// Must not compile: the transport's send returns bool instead of
// std::error_code, and the diagnostic must say so with meshkit's message
// (pinned by CTest).
#include <meshkit/node_policies.hpp>

struct broken_transport : meshkit::sim::transport {
    using meshkit::sim::transport::transport;
    bool send(meshkit::endpoint const&, std::span<std::byte const>) { return true; }
};

struct bad_policies : meshkit::sim_policies {
    using transport = broken_transport;
};

int main()
{
    meshkit::sim::network net{1};
    meshkit::basic_node<bad_policies> node{net};
}

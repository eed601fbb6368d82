// Must not compile: the bundle's discovery does not model its concept, and the
// diagnostic must say so with meshkit's message (pinned by CTest).
#include <meshkit/node_policies.hpp>

struct broken_discovery {};

struct bad_policies : meshkit::sim_policies {
    using discovery = broken_discovery;
};

int main()
{
    meshkit::sim::network net{1};
    meshkit::basic_node<bad_policies> node{net};
}

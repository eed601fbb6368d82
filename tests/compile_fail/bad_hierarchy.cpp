// Must not compile: the bundle's hierarchy does not model its concept, and the
// diagnostic must say so with meshkit's message (pinned by CTest).
#include <meshkit/node_policies.hpp>

struct broken_hierarchy {};

struct bad_policies : meshkit::sim_policies {
    using hierarchy = broken_hierarchy;
};

int main()
{
    meshkit::sim::network net{1};
    meshkit::basic_node<bad_policies> node{net};
}

// Must not compile: the bundle's metrics does not model its concept, and the
// diagnostic must say so with meshkit's message (pinned by CTest).
#include <meshkit/node_policies.hpp>

struct broken_metrics {};

struct bad_policies : meshkit::sim_policies {
    using metrics = broken_metrics;
};

int main()
{
    meshkit::sim::network net{1};
    meshkit::basic_node<bad_policies> node{net};
}

// Must not compile: the clock can tell the time but cannot arm timers, and
// the diagnostic must say so with meshkit's message (pinned by CTest).
#include <meshkit/node_policies.hpp>

struct broken_clock {
    explicit broken_clock(meshkit::sim::network& net) : net_(&net) {}
    meshkit::time_point now() const { return net_->now(); }
    meshkit::sim::network* net_;
};

struct bad_policies : meshkit::sim_policies {
    using clock = broken_clock;
};

int main()
{
    meshkit::sim::network net{1};
    meshkit::basic_node<bad_policies> node{net};
}

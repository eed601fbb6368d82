// Must not compile: an engine that forgot to declare its events, and the
// diagnostic must say so with meshkit's message (pinned by CTest).
#include <meshkit/node_policies.hpp>

struct forgetful_engine {
    using messages = meshkit::wire::registry<>;
    // using events = meshkit::type_list<>;   <- missing
};

struct bad_policies : meshkit::sim_policies {
    using engines = meshkit::type_list<forgetful_engine>;
};

int main()
{
    meshkit::sim::network net{1};
    meshkit::basic_node<bad_policies> node{net};
}

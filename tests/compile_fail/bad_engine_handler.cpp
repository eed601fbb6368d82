// Must not compile: an engine registers a message it has no on_message for,
// and the diagnostic must say so with meshkit's message (pinned by CTest).
#include <meshkit/node_policies.hpp>

struct hello {
    static constexpr meshkit::wire::type_id wire_id = meshkit::wire::user_first;
    std::uint32_t x = 0;
};

struct deaf_engine {
    using messages = meshkit::wire::registry<hello>;
    using events = meshkit::type_list<>;
};

struct bad_policies : meshkit::sim_policies {
    using engines = meshkit::type_list<deaf_engine>;
};

int main()
{
    meshkit::sim::network net{1};
    meshkit::basic_node<bad_policies> node{net};
    node.start();
}

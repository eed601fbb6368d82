// Must not compile: cache gossip needs a peer cache, and static seeds are
// not one. The diagnostic must say so with meshkit's message (pinned by CTest).
#include <meshkit/discovery/peer_gossip.hpp>
#include <meshkit/node_policies.hpp>

struct bad_policies : meshkit::sim_policies {
    using engines = meshkit::type_list<meshkit::discovery::peer_gossip>; // discovery stays static_seeds
};

int main()
{
    meshkit::sim::network net{1};
    meshkit::basic_node<bad_policies> node{net};
}

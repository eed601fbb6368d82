// Must not compile: the hierarchical mesh's aggregator does not model its
// concept, and the diagnostic must say so with meshkit's message (pinned by CTest).
#include <meshkit/topology/hierarchical_mesh.hpp>

struct broken_aggregator {
    bool fold(meshkit::topology::upward_item const&) { return false; }
};

int main()
{
    meshkit::topology::hierarchical_mesh<broken_aggregator> mesh;
    (void)mesh;
}

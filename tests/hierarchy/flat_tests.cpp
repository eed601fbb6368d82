// Test that header file is self-contained.
#include <meshkit/hierarchy/flat.hpp>

#include <meshkit/node.hpp>
#include <meshkit/node_policies.hpp>
#include <meshkit/sim/network.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <type_traits>

// hierarchy::flat, the default hierarchy policy (docs/concepts/hierarchy_strategy.md):
// every node a peer at level 0, no parent, never a move, and no cost.

namespace {

using namespace meshkit;
using namespace std::chrono_literals;

/// flat with one byte of state: what any hierarchy that remembers something costs a node at least.
struct flat_with_a_byte : hierarchy::flat {
    unsigned char remembered = 0;
};
static_assert(hierarchy_strategy<flat_with_a_byte>);

struct byte_policies : sim_policies {
    using hierarchy = flat_with_a_byte;
};

static_assert(std::is_empty_v<hierarchy::flat>);
static_assert(hierarchy::flat{}.role() == node_role::peer && hierarchy::flat{}.level() == 0,
              "flat's answers are constants: usable at compile time");

TEST(FlatHierarchy, EveryNodeIsAPeerAtLevelZeroWithNoParentAndNoCandidateJustifiesAMove)
{
    hierarchy::flat h;
    EXPECT_EQ(h.role(), node_role::peer);
    EXPECT_EQ(h.level(), 0u);
    EXPECT_FALSE(h.parent());
    attachment_option const near{node_id::from_seed(1), 1ms};
    attachment_option const far{node_id::from_seed(2), 500ms};
    EXPECT_FALSE(h.justifies_move(std::nullopt, near)) << "not even a first parent";
    EXPECT_FALSE(h.justifies_move(far, near));
    h.attach(near.id);
    EXPECT_FALSE(h.parent()) << "attach changes nothing in a flat mesh";
    h.detach();
    EXPECT_FALSE(h.parent());
}

TEST(FlatHierarchy, TakesNoRoomInANode)
{
    // basic_node holds its hierarchy [[no_unique_address]]: flat adds no
    // byte, while one byte of hierarchy state costs at least one (with
    // padding, an alignment's worth).
    EXPECT_LT(sizeof(basic_node<sim_policies>), sizeof(basic_node<byte_policies>));

    sim::network net{1};
    basic_node<sim_policies> node{net};
    node.start();
    net.advance(1s);
    EXPECT_EQ(node.hierarchy().role(), node_role::peer);
    EXPECT_FALSE(node.hierarchy().parent());
}

} // namespace

// common/planned_strategy.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~
// The hierarchy policy a program gives a node it plans at a level: leaders
// above level 0, members at it, promoted at most to the deployment's top.
#ifndef MESHKIT_TOOLS_COMMON_PLANNED_STRATEGY_HPP
#define MESHKIT_TOOLS_COMMON_PLANNED_STRATEGY_HPP

#include <meshkit/hierarchy/dynamic_strategy.hpp>
#include <meshkit/hierarchy/hybrid_strategy.hpp>
#include <meshkit/hierarchy/static_strategy.hpp>

#include <cstdint>
#include <type_traits>

namespace meshkit::tools {

/** `Strategy` (static, dynamic or hybrid) for a node planned at `level` in a deployment whose top is
    `top_level`. `hybrid` carries the hybrid policy's promotion and demotion settings; its level, role and
    top are set here. */
template <class Strategy>
Strategy planned_strategy(std::uint8_t level, std::uint8_t top_level, hierarchy::hybrid_strategy_config hybrid = {})
{
    node_role const role = level > 0 ? node_role::leader : node_role::member;
    if constexpr (std::is_same_v<Strategy, hierarchy::static_strategy>) {
        hierarchy::static_strategy_config c;
        c.level = level;
        c.role = role;
        return Strategy{c};
    } else if constexpr (std::is_same_v<Strategy, hierarchy::dynamic_strategy>) {
        hierarchy::dynamic_strategy_config c;
        c.base_level = level;
        c.max_level = top_level;
        return Strategy{c};
    } else {
        static_assert(std::is_same_v<Strategy, hierarchy::hybrid_strategy>);
        hybrid.level = level;
        hybrid.role = role;
        hybrid.max_level = top_level;
        return Strategy{hybrid};
    }
}

} // namespace meshkit::tools

#endif // MESHKIT_TOOLS_COMMON_PLANNED_STRATEGY_HPP

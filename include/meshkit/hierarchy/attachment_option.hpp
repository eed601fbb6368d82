// hierarchy/attachment_option.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_HIERARCHY_ATTACHMENT_OPTION_HPP
#define MESHKIT_HIERARCHY_ATTACHMENT_OPTION_HPP

#include <meshkit/node_id.hpp>
#include <meshkit/time.hpp>

#include <cstdint>

namespace meshkit {

/** A node this one could attach to, as an engine measured it.

    What a hierarchy strategy weighs when it decides whether a candidate
    justifies a move: REPRAM compares latency and enclave, Peat a beacon's
    level, capabilities and resources (folded into `score`).
*/
struct attachment_option {
    node_id id;
    /// The measured round trip to it; zero when not measured.
    duration rtt{};
    /// Its level in the hierarchy.
    std::uint8_t level = 0;
    /// Whether it is in this node's enclave (region, site, cell).
    bool same_enclave = false;
    /// A strategy-specific merit (capabilities, resources); higher is better.
    double score = 0;
};

} // namespace meshkit

#endif // MESHKIT_HIERARCHY_ATTACHMENT_OPTION_HPP

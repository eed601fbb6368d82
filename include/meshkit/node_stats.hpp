// node_stats.hpp
// ~~~~~~~~~~~~~~
#ifndef MESHKIT_NODE_STATS_HPP
#define MESHKIT_NODE_STATS_HPP

#include <cstdint>

namespace meshkit {

/** Traffic counters every `basic_node` keeps, whatever its metrics policy.

    They are plain integers on the node, so a scenario can total them over
    thousands of simulated nodes without a metrics sink per node.
*/
struct node_stats {
    std::uint64_t datagrams_sent = 0;
    std::uint64_t bytes_sent = 0;
    std::uint64_t datagrams_received = 0;
    std::uint64_t bytes_received = 0;
    /// Stream frames sent (or waiting for their stream) and received: messages that travel on streams.
    std::uint64_t frames_sent = 0;
    std::uint64_t frames_received = 0;
    /// Datagrams and frames dropped because they did not decode (see `wire::errc`) or came on the wrong channel.
    std::uint64_t decode_errors = 0;
    /// Sends the transport or encoder refused (too large, host down).
    std::uint64_t send_errors = 0;
};

} // namespace meshkit

#endif // MESHKIT_NODE_STATS_HPP

// topic/topic_host_settings.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_TOPIC_TOPIC_HOST_SETTINGS_HPP
#define MESHKIT_TOPIC_TOPIC_HOST_SETTINGS_HPP

#include <meshkit/engine_settings.hpp>
#include <meshkit/time.hpp>
#include <meshkit/topic/rejoin_supervisor.hpp>

#include <chrono>
#include <cstddef>

namespace meshkit::topic {

/// A topic host's run-time settings: `node_config::engine<topic_host<...>>()` on a node.
struct topic_host_settings {
    /** The most topics a node belongs to at once; `join` beyond it fails with `errc::topic_limit`.

        Each topic holds its own views, tree and caches (a few kilobytes
        with the default engines' settings).
    */
    std::size_t max_topics = 16;
    /** One peer is probed this often, in turn, unless it was heard from since its last probe.

        Memberlist's probe interval. An idle node sends one ping a period
        and answers its neighbours' (about one), whatever the number of
        topics: the cost of liveness is per node, not per topic or link.
    */
    duration probe_interval = std::chrono::seconds(1);
    /// How long a ping waits for its answer (or any datagram from the peer) before it is sent again.
    duration probe_timeout = std::chrono::milliseconds(500);
    /// Pings without an answer before the peer is declared failed in every topic.
    unsigned probe_attempts = 3;
    /** A link younger than this is not ended by a probe that does not list it.

        The two sides of a new link learn of it one message apart.
    */
    duration link_grace = std::chrono::seconds(2);
    /** How often each topic's HyParView shuffles (its `shuffle_interval`, overriding the engine's 10 s).

        A node in k topics runs k shuffles, each a walk of up to 7
        datagrams of a few hundred bytes: at 10 s, three topics' shuffles
        alone cost an idle node about 500 B/s. iroh-gossip shuffles every
        60 s too.
    */
    duration shuffle_interval = std::chrono::seconds(60);
    /// Contacts remembered from `join` calls, offered to topics joined later.
    std::size_t max_contacts = 16;
    /// When and how the node rejoins its topics after a network change, a sleep or a suspected isolation.
    rejoin_settings rejoin;
    /** The settings of each topic's engines (`engines.of<membership::hyparview>()`), the same for every topic.

        The host adjusts three: HyParView's silence-based failure detection
        is off (the host's probes decide) and it shuffles every
        `shuffle_interval`, and Plumtree's payload limit leaves room for
        the topic frame.
    */
    engine_settings engines;
};

} // namespace meshkit::topic

#endif // MESHKIT_TOPIC_TOPIC_HOST_SETTINGS_HPP

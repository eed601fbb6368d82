// node_config.hpp
// ~~~~~~~~~~~~~~~
#ifndef MESHKIT_NODE_CONFIG_HPP
#define MESHKIT_NODE_CONFIG_HPP

#include <meshkit/endpoint.hpp>
#include <meshkit/engine_settings.hpp>
#include <meshkit/node_id.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>

namespace meshkit {

/** Settings of a `basic_node`: its identity, randomness and address, and its engines' settings.

    Every field has a working default, so `sim_node n{net}` runs as is.
    Engine settings live beside each engine (`E::config_type`) and are
    reached by engine type, the same way for a built-in engine and for one
    a user writes:

    @code
    node_config c;
    c.listen = endpoint::v4(127, 0, 0, 1, 7000);
    c.engine<membership::liveness>().session_timeout = 3s;
    @endcode
*/
struct node_config {
    /// The node's identity. Unset: the one in storage, or a new one derived from `seed` (then stored).
    std::optional<node_id> id;
    /** Seeds the node's random choices; with the simulator's seed it fixes a run completely.

        Unset: on the simulator, derived from the node's address (still
        deterministic); on a real transport, fresh entropy.
    */
    std::optional<std::uint64_t> seed;
    /// The address to bind. Unspecified: the transport picks (the simulator hands out a fresh one).
    endpoint listen{};
    /** Streams the node keeps open at once, per stream transport (256). Beyond it a send to a new
        address fails with `errc::queue_full` and an inbound stream is closed at once. A substrate
        needs one per child: raise it with `attach::substrate_config::max_children`. */
    std::size_t max_streams = 256;
    /// Each engine's settings, by engine type.
    engine_settings engines;

    /// The settings engine `E` is built with, to change (its defaults until changed).
    template <configurable_engine E>
    [[nodiscard]] typename E::config_type& engine()
    {
        return engines.of<E>();
    }

    /// The settings engine `E` is built with.
    template <configurable_engine E>
    [[nodiscard]] typename E::config_type engine() const
    {
        return engines.of<E>();
    }
};

} // namespace meshkit

#endif // MESHKIT_NODE_CONFIG_HPP

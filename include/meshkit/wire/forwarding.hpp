// wire/forwarding.hpp
// ~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_WIRE_FORWARDING_HPP
#define MESHKIT_WIRE_FORWARDING_HPP

namespace meshkit::wire {

/** Whether message kind `M` may arrive from a node other than its sender (relayed with `engine_context::forward`).

    A message kind says so once, with `static constexpr bool forwarded = true;`
    (cache gossip's announcements travel many hops with their origin as the
    envelope's sender). Every other message comes straight from its sender:
    on an authenticated transport, `basic_node` drops one whose envelope
    names anyone but the peer the session proved, or that claims hops.
*/
template <class M>
inline constexpr bool may_be_forwarded = false;
template <class M>
    requires requires { M::forwarded; }
inline constexpr bool may_be_forwarded<M> = M::forwarded;

} // namespace meshkit::wire

#endif // MESHKIT_WIRE_FORWARDING_HPP

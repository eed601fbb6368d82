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

/** Whether message kind `M` carries its author's signature over itself and its envelope's sender.

    Such a message proves its sender without a session, so a secure node
    takes it where no session can carry it: a datagram sent unsealed to a
    LAN multicast group (`secure_transport::join_group`). Every other
    message from there is refused. A kind says so with
    `static constexpr bool self_signed = true;`, and its engine must verify
    the signature (`engine_context::verify`) before it acts on one.
*/
template <class M>
inline constexpr bool is_self_signed = false;
template <class M>
    requires requires { M::self_signed; }
inline constexpr bool is_self_signed<M> = M::self_signed;

/** Whether message kind `M` says only "I am alive": a link-level keepalive with no other content.

    A host that keeps liveness per peer for several overlays at once
    (`topic::topic_host`) drops its overlays' own keepalives and probes
    each peer once for all of them. A kind says so with
    `static constexpr bool keepalive = true;`.
*/
template <class M>
inline constexpr bool is_keepalive = false;
template <class M>
    requires requires { M::keepalive; }
inline constexpr bool is_keepalive<M> = M::keepalive;

} // namespace meshkit::wire

#endif // MESHKIT_WIRE_FORWARDING_HPP

// nat/traversal_messages.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_NAT_TRAVERSAL_MESSAGES_HPP
#define MESHKIT_NAT_TRAVERSAL_MESSAGES_HPP

#include <meshkit/endpoint.hpp>
#include <meshkit/nat/nat_type.hpp>
#include <meshkit/node_id.hpp>
#include <meshkit/wire/message.hpp>
#include <meshkit/wire/registry.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace meshkit::nat {

/// Asks the receiver to confirm a path: sent directly, and in both directions during a punch.
struct nt_probe {
    static constexpr wire::type_id wire_id = 0x0050;
    std::uint64_t nonce = 0;
};

/** Confirms a path, and tells the prober the source address its probe came from.

    `observed` is what makes the receiver's NAT visible to it: enough
    independent observers that agree confirm its public address.
    `after_punch` says the probe arrived after the receiver fired its own
    punch burst at the prober: the path may exist only because of that
    punch. Without it, the receiver's NAT admitted a stranger, and the
    prober may call the path direct, and the receiver directly reachable.
*/
struct nt_probe_ack {
    static constexpr wire::type_id wire_id = 0x0051;
    std::uint64_t nonce = 0;
    endpoint observed;
    bool after_punch = false;
};

/// Keeps a connection, and the NAT mappings under it, alive; answered by `nt_probe_ack`.
struct nt_keepalive {
    static constexpr wire::type_id wire_id = 0x0052;
    std::uint64_t nonce = 0;
};

/** Asks an intermediary that holds a session with `target` to coordinate a punch.

    `predicted_ports` are the ports the requester's NAT will likely give
    the crossing flow, when it is a sequential symmetric NAT.
*/
struct nt_punch_request {
    static constexpr wire::type_id wire_id = 0x0053;
    node_id target;
    std::uint8_t round = 0;
    nat_type requester_nat = nat_type::unknown;
    std::vector<std::uint16_t> predicted_ports;
};

/** From the intermediary to both sides: fire probes at `peer` after `fire_in_us`.

    The delays are chosen so both sides fire at one moment (DCUtR fires
    after half the measured RTT for the same reason): each side's outbound
    probe opens its own NAT just as the other's arrives.

    `peer_nat` is the other side's NAT type as the intermediary knows it.
    When exactly one side is symmetric, `birthday_token` is non-zero, and
    both sides also probe the birthday way (birthday_probe.hpp): the
    symmetric side opens many sockets, the other sprays random ports, and
    probes carry the token, so nobody else's probe counts.
*/
struct nt_punch_me_now {
    static constexpr wire::type_id wire_id = 0x0054;
    node_id peer;
    endpoint address;
    std::vector<std::uint16_t> predicted_ports;
    std::uint32_t fire_in_us = 0;
    std::uint8_t round = 0;
    nat_type peer_nat = nat_type::unknown;
    std::uint64_t birthday_token = 0;
};

/// The intermediary holds no session with the target: ask another.
struct nt_punch_refused {
    static constexpr wire::type_id wire_id = 0x0055;
    node_id target;
};

/// Asks a public node to relay between the sender and `target`.
struct nt_relay_open {
    static constexpr wire::type_id wire_id = 0x0056;
    node_id target;
};

/// The relay's answer to `nt_relay_open`.
struct nt_relay_reply {
    static constexpr wire::type_id wire_id = 0x0057;
    node_id target;
    bool accepted = false;
};

/// What a relayed frame carries.
enum class frame_kind : std::uint8_t { keepalive = 1, keepalive_ack, data, data_ack };

/** A frame through a relay.

    To the relay, `peer` is the destination; from the relay, it is the
    origin (filled in by the relay from the session, so it cannot be
    forged by the other side).
*/
struct nt_relay_frame {
    static constexpr wire::type_id wire_id = 0x0058;
    node_id peer;
    frame_kind kind = frame_kind::keepalive;
    std::uint64_t session = 0;
    std::uint64_t seq = 0;
    std::vector<std::byte> payload;
};

/// An application message on a direct or punched path; acknowledged by `nt_data_ack`.
struct nt_data {
    static constexpr wire::type_id wire_id = 0x0059;
    std::uint64_t session = 0;
    std::uint64_t seq = 0;
    std::vector<std::byte> payload;
};

/// Acknowledges an `nt_data` (or a relayed data frame).
struct nt_data_ack {
    static constexpr wire::type_id wire_id = 0x005A;
    std::uint64_t session = 0;
    std::uint64_t seq = 0;
};

/** The relay ended a session it served: its quota (time or bytes) is spent.

    Sent to the session's requester, which asks again (`nt_relay_open`): a
    new reservation, which the relay may refuse when it is busy.
*/
struct nt_relay_closed {
    static constexpr wire::type_id wire_id = 0x005B;
    node_id target;
};

/** From an intermediary to the target of a reversed connection: probe `peer` at `address` now.

    A requester that is public needs no punch: the target's own outbound
    probe opens its NAT, and the requester's socket admits it. So the
    intermediary asks only the target, and nothing is timed (libp2p's
    connection reversal). Sent only to a peer the intermediary holds a
    session with, naming the address the request came from: it can make
    the target send a few probes to the requester, and to nobody else.
*/
struct nt_connect_back {
    static constexpr wire::type_id wire_id = 0x005C;
    node_id peer;
    endpoint address;
};

/// The messages the connector speaks.
using traversal_messages = wire::registry<nt_probe, nt_probe_ack, nt_keepalive, nt_punch_request, nt_punch_me_now,
                                          nt_punch_refused, nt_relay_open, nt_relay_reply, nt_relay_frame, nt_data,
                                          nt_data_ack, nt_relay_closed, nt_connect_back>;

} // namespace meshkit::nat

#endif // MESHKIT_NAT_TRAVERSAL_MESSAGES_HPP

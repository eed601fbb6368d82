// discovery/peer_record.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_DISCOVERY_PEER_RECORD_HPP
#define MESHKIT_DISCOVERY_PEER_RECORD_HPP

#include <meshkit/endpoint.hpp>
#include <meshkit/nat/nat_type.hpp>
#include <meshkit/node_id.hpp>
#include <meshkit/security/signature.hpp>
#include <meshkit/security/signing_bytes.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace meshkit::discovery {

/** What cache gossip says about one peer: the shareable part of a `cached_peer`.

    A node's own experience of a peer (successes, failures, RTT) never
    leaves it. No clock value is in it, so it means the same on any host:

    - `version` is a counter the peer itself raises whenever it changes or
      refreshes its record, so the newest copy wins wherever copies meet. A
      peer that restarts and hears an older incarnation of itself with a
      higher version jumps past it (as SWIM refutes a suspicion).
    - `age_s` is how long ago, as the sender knows it, the peer last gave
      evidence of life. Each hop adds the time the record sat in its cache,
      so a record stops getting younger when its origin dies and expires
      everywhere at the same age, whatever each host's clock says.
    - `signature` is the peer's own (on secure nodes, whose ids are
      Ed25519 keys) over everything but the age (`signing_bytes`): a relay
      can pass the record on, but not change the address under the id.
*/
struct peer_record {
    /// The most introducers a record may name: what keeps a chunk of records within one datagram.
    static constexpr std::size_t max_introducers = 4;

    node_id id;
    /// Present only when the peer broadcasts (Flashback's IP-sharing rule).
    std::optional<endpoint> address;
    nat::nat_type nat = nat::nat_type::unknown;
    /// `peer_capability` bits.
    std::uint8_t capabilities = 0;
    bool broadcasting = false;
    std::uint64_t version = 0;
    /// Seconds since the peer was last known alive, at the moment the sender sent this record.
    std::uint32_t age_s = 0;
    /// Public peers that hold sessions with it: intermediaries for a punch, relays.
    std::vector<endpoint> introducers;
    /// The peer's signature of `signing_bytes(*this)`; absent from insecure nodes, whose ids are no keys.
    std::optional<security::signature> signature;

    friend bool operator==(peer_record const&, peer_record const&) = default;
};

/** The bytes `r`'s author signs: a domain tag, then the record without its age and signature.

    The age changes at every hop and is nobody's word, so it is left out;
    every field the author states (its address, NAT type, capabilities,
    introducers and version) is in, so no relay can alter one.
*/
inline std::vector<std::byte> signing_bytes(peer_record r)
{
    r.age_s = 0;
    r.signature.reset();
    return security::signing_bytes("meshkit/peer_record/1", r);
}

} // namespace meshkit::discovery

#endif // MESHKIT_DISCOVERY_PEER_RECORD_HPP

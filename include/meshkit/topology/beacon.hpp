// topology/beacon.hpp
// ~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_TOPOLOGY_BEACON_HPP
#define MESHKIT_TOPOLOGY_BEACON_HPP

#include <meshkit/hierarchy/election.hpp>
#include <meshkit/hierarchy/geo_position.hpp>
#include <meshkit/hierarchy/geohash.hpp>
#include <meshkit/hierarchy/mobility.hpp>
#include <meshkit/hierarchy/node_resources.hpp>
#include <meshkit/hierarchy/node_role.hpp>
#include <meshkit/node_id.hpp>
#include <meshkit/security/signature.hpp>
#include <meshkit/security/signing_bytes.hpp>
#include <meshkit/wire/codec.hpp>
#include <meshkit/wire/message.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace meshkit::topology {

/// The most capabilities a beacon may list, and the longest name of one: a beacon fits one datagram.
inline constexpr std::size_t max_capabilities = 16;
inline constexpr std::size_t max_capability_length = 32;

/// The highest level meshkit accepts in a beacon (Peat uses 0 to 3).
inline constexpr std::uint8_t max_hierarchy_level = 15;

/** What a node of the hierarchical mesh says about itself, every beacon interval, to the nodes in range.

    Peat's GeographicBeacon, with two changes for hosts whose clocks
    disagree: no timestamp (receivers age a beacon by their own clock from
    when it arrived, and order two beacons of one node by `seq`), and the
    node's parent, so that a parent learns its children from their
    beacons. Beacons are the mesh's liveness too: there is no other
    keepalive. Its sender is the envelope's.
*/
struct hm_beacon {
    static constexpr wire::type_id wire_id = 0x0080;
    /// Signed by its sender (`signature`), so a secure node takes it from a LAN multicast group.
    static constexpr bool self_signed = true;
    /// Raised by the sender on every beacon (its incarnation in the high bits): a newer one replaces an older.
    std::uint64_t seq = 0;
    geo_position position;
    /// The geohash of `position` at the sender's precision; recomputed by receivers, never trusted.
    std::string geohash;
    /// Its level now, and the level it holds natively (they differ while it is promoted).
    std::uint8_t level = 0;
    std::uint8_t base_level = 0;
    /// `node_role` as a byte: leader, member or standalone.
    std::uint8_t role = static_cast<std::uint8_t>(node_role::member);
    std::vector<std::string> capabilities;
    /// False while it cannot do its job (damaged, shutting down): no one picks it as a parent.
    bool operational = true;
    std::optional<meshkit::mobility> mobility;
    /// Whether it takes children, and how much it wants to (Peat: fixed 255, semi-mobile 128, mobile 0).
    bool can_parent = false;
    std::uint8_t parent_priority = 0;
    std::optional<node_resources> resources;
    /// The node it reports to, if any.
    std::optional<node_id> parent;
    /** The sender's signature of `signing_bytes(sender, *this)` (secure nodes).

        A beacon goes straight from its sender, so over a secure session the
        session already proves who sent it; the signature is what proves it
        where no session can (a LAN multicast group).
    */
    std::optional<security::signature> signature;

    /// What an election weighs of the sender.
    [[nodiscard]] election_input election() const { return election_input{mobility, resources}; }
    [[nodiscard]] node_role claimed_role() const noexcept { return static_cast<node_role>(role); }
    [[nodiscard]] bool is_promoted() const noexcept { return level > base_level; }
};

/// The bytes `sender` signs of beacon `b`: a domain tag, the beacon without its signature, then the sender's id.
inline std::vector<std::byte> signing_bytes(node_id const& sender, hm_beacon b)
{
    b.signature.reset();
    auto out = security::signing_bytes("meshkit/beacon/1", b);
    wire::encode(sender, out);
    return out;
}

/// Why a beacon was refused.
enum class beacon_fault : std::uint8_t {
    /** A position no device reports (`geo_position::is_plausible`). */
    position = 1,
    /** A level above `max_hierarchy_level`, or a base level above the level, or more than one apart. */
    level,
    /** Too many capabilities, or one too long. */
    capabilities,
    /** A role that is not leader, member or standalone. */
    role,
};

/** Checks a received beacon: refused for what cannot be right, repaired for what can.

    A position, level, role or capability list that no honest node sends
    is refused (`beacon_fault`); percentages above 100 are clamped and the
    geohash is recomputed from the position, at `precision`, since the
    receiver's cells are what it groups by. @return the fault, or nothing
    when `b` is now fit to keep.
*/
[[nodiscard]] inline std::optional<beacon_fault> sanitize(hm_beacon& b, std::size_t precision, bool* clamped = nullptr)
{
    if (!b.position.is_plausible())
        return beacon_fault::position;
    if (b.level > max_hierarchy_level || b.base_level > b.level || b.level - b.base_level > 1)
        return beacon_fault::level;
    if (b.capabilities.size() > max_capabilities)
        return beacon_fault::capabilities;
    for (auto const& c : b.capabilities)
        if (c.empty() || c.size() > max_capability_length)
            return beacon_fault::capabilities;
    auto const role = b.claimed_role();
    if (role != node_role::leader && role != node_role::member && role != node_role::standalone)
        return beacon_fault::role;
    if (b.resources)
        b.resources = b.resources->clamped(clamped);
    b.geohash = meshkit::geohash(b.position, precision);
    return std::nullopt;
}

} // namespace meshkit::topology

#endif // MESHKIT_TOPOLOGY_BEACON_HPP

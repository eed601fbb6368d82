// libFuzzer target for the wire decoder: any input must decode or fail with
// a wire::errc, never crash, hang or read out of bounds (ASan and UBSan are on),
// and whatever decodes must re-encode to the same bytes.
//
// Run: tools/fuzz.sh [seconds]

#include <meshkit/attach/messages.hpp>
#include <meshkit/discovery/gossip_messages.hpp>
#include <meshkit/discovery/registry_messages.hpp>
#include <meshkit/endpoint.hpp>
#include <meshkit/membership/liveness_messages.hpp>
#include <meshkit/nat/traversal_messages.hpp>
#include <meshkit/node_id.hpp>
#include <meshkit/topology/cell_summary.hpp>
#include <meshkit/topology/messages.hpp>
#include <meshkit/topology/node_state.hpp>
#include <meshkit/wire/registry.hpp>

#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

namespace {

struct entry {
    meshkit::node_id id;
    meshkit::endpoint address;
    std::string name;
    std::vector<std::uint16_t> caps;
};

struct everything {
    static constexpr meshkit::wire::type_id wire_id = meshkit::wire::user_first;
    std::uint64_t a;
    bool b;
    double c;
    std::string s;
    std::vector<std::string> strings;
    std::optional<entry> best;
    std::vector<entry> entries;
    std::vector<std::vector<std::uint8_t>> blobs;
};

// What the summary aggregator decodes from packet payloads, as messages of their own.
struct fuzz_node_state {
    static constexpr meshkit::wire::type_id wire_id = meshkit::wire::user_first + 1;
    meshkit::topology::node_state state;
};
struct fuzz_cell_summary {
    static constexpr meshkit::wire::type_id wire_id = meshkit::wire::user_first + 2;
    meshkit::topology::cell_summary summary;
};

// A synthetic message with every field shape, plus the real messages whose
// fields are richest: the gossip-first node's (optional addresses, nested
// vectors of records, byte payloads, enums) and the substrate/transient
// attachments' (substrate records with strings, goodbye reasons), the
// hierarchical mesh's (beacons with positions, optional resources and
// capability lists; packets; acknowledgements) and the telemetry its
// aggregator reads.
using registry = meshkit::wire::registry_union<
    meshkit::wire::registry<meshkit::membership::ping, meshkit::membership::pong, everything, fuzz_node_state,
                            fuzz_cell_summary>,
    meshkit::nat::traversal_messages, meshkit::discovery::gossip_messages, meshkit::discovery::registry_messages,
    meshkit::attach::attach_messages, meshkit::topology::topology_messages>;

} // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size)
{
    auto const input = std::span(reinterpret_cast<std::byte const*>(data), size);
    auto decoded = registry::decode(input);
    if (!decoded)
        return 0;
    std::vector<std::byte> again;
    std::visit([&](auto const& m) { registry::encode(decoded->header, m, again); }, decoded->message);
    if (again.size() != size || !std::equal(again.begin(), again.end(), input.begin()))
        std::abort(); // non-canonical: two encodings of one message
    return 0;
}

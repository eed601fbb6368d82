// discovery/static_file.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_DISCOVERY_STATIC_FILE_HPP
#define MESHKIT_DISCOVERY_STATIC_FILE_HPP

#include <meshkit/discovery/static_seeds.hpp>
#include <meshkit/endpoint.hpp>

#include <toml++/toml.h>

#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace meshkit::discovery {

/// A static peer file that cannot be used: the message names the file, the line and the key.
class static_file_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

namespace static_file_detail {
inline std::string where(std::string const& file, toml::source_region const& r)
{
    return file + ":" + std::to_string(r.begin.line) + ": ";
}
} // namespace static_file_detail

namespace static_file_detail {
/// The peers of a parsed static peer file; every key checked.
inline static_seeds seeds_from(toml::table const& doc, std::string const& origin)
{
    std::vector<endpoint> peers;
    for (auto const& [key, value] : doc) {
        if (key.str() != "peer")
            throw static_file_error(where(origin, key.source()) + "unknown key '" + std::string(key.str()) +
                                    "' (expected [[peer]] tables)");
        auto const* list = value.as_array();
        if (!list)
            throw static_file_error(where(origin, value.source()) + "'peer' must be an array of tables ([[peer]])");
        for (auto const& item : *list) {
            auto const* peer = item.as_table();
            if (!peer)
                throw static_file_error(where(origin, item.source()) + "each 'peer' must be a table");
            std::optional<endpoint> address;
            for (auto const& [k, v] : *peer) {
                if (k.str() == "name") {
                    if (!v.is_string())
                        throw static_file_error(where(origin, v.source()) + "peer.name must be a string");
                } else if (k.str() == "address") {
                    auto const* text = v.as_string();
                    if (!text)
                        throw static_file_error(where(origin, v.source()) + "peer.address must be a string");
                    address = endpoint::parse(text->get());
                    if (!address)
                        throw static_file_error(where(origin, v.source()) + "peer.address '" + text->get() +
                                                "' is not HOST:PORT, udp://HOST:PORT or tcp://HOST:PORT");
                } else {
                    throw static_file_error(where(origin, k.source()) + "unknown key 'peer." + std::string(k.str()) +
                                            "' (expected address, name)");
                }
            }
            if (!address)
                throw static_file_error(where(origin, peer->source()) + "a [[peer]] without 'address'");
            peers.push_back(*address);
        }
    }
    return static_seeds{std::move(peers)};
}
} // namespace static_file_detail

/** Parses a static peer list (TOML; Peat's static discovery, for emission control: no beacon leaves for
    anyone not listed).

    @code
    # peers.toml
    [[peer]]
    address = "udp://10.0.0.2:7946"   # or HOST:PORT, tcp://HOST:PORT
    name = "company-hq"               # optional, for people
    @endcode

    Every `[[peer]]` needs an `address`; `name` is optional and ignored. Any
    other key, at the top or in a peer, is an error, as is a value of the
    wrong type or an address that does not parse: the message names the
    file (`origin`), the line and the key, so a typo is never a silently
    missing peer. @throws static_file_error.
*/
[[nodiscard]] inline static_seeds parse_static_seeds(std::string_view text, std::string const& origin = "peers")
{
    try {
        return static_file_detail::seeds_from(toml::parse(text, origin), origin);
    } catch (toml::parse_error const& e) {
        throw static_file_error(static_file_detail::where(origin, e.source()) + std::string(e.description()));
    }
}

/// Reads and parses the static peer file `path` (see `parse_static_seeds`). @throws static_file_error.
[[nodiscard]] inline static_seeds load_static_seeds(std::filesystem::path const& path)
{
    std::string const origin = path.string();
    try {
        return static_file_detail::seeds_from(toml::parse_file(origin), origin);
    } catch (toml::parse_error const& e) {
        throw static_file_error(static_file_detail::where(origin, e.source()) + std::string(e.description()));
    }
}

} // namespace meshkit::discovery

#endif // MESHKIT_DISCOVERY_STATIC_FILE_HPP

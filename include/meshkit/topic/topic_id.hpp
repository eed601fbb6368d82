// topic/topic_id.hpp
// ~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_TOPIC_TOPIC_ID_HPP
#define MESHKIT_TOPIC_TOPIC_ID_HPP

#include <meshkit/security/detail/sodium.hpp>

#include <sodium.h>

#include <array>
#include <compare>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace meshkit::topic {

/** Names one overlay a node may belong to, among several over its one transport.

    Eight bytes on every topic frame: the first eight of BLAKE2b over the
    topic's name (`named`), so nodes that agree on a name agree on the id
    without a registry. Two names collide by a 2^-64 accident; a topic is
    no secret (its name is on the wire in every frame's id), and on a
    secure node who may speak in it is decided by the sessions, not by
    the id.
*/
struct topic_id {
    std::uint64_t value = 0;

    friend constexpr auto operator<=>(topic_id const&, topic_id const&) = default;

    /// The id of the topic called `name`.
    [[nodiscard]] static topic_id named(std::string_view name)
    {
        security::detail::ensure_sodium();
        static constexpr std::string_view domain = "meshkit/topic/";
        std::array<unsigned char, crypto_generichash_BYTES_MIN> digest{};
        crypto_generichash_state st;
        crypto_generichash_init(&st, nullptr, 0, digest.size());
        crypto_generichash_update(&st, reinterpret_cast<unsigned char const*>(domain.data()), domain.size());
        crypto_generichash_update(&st, reinterpret_cast<unsigned char const*>(name.data()), name.size());
        crypto_generichash_final(&st, digest.data(), digest.size());
        std::uint64_t v = 0;
        for (std::size_t i = 0; i < 8; ++i)
            v |= static_cast<std::uint64_t>(digest[i]) << (8 * i);
        return topic_id{v};
    }

    /// 16 lowercase hex digits, for logs.
    [[nodiscard]] std::string to_hex() const
    {
        char buf[17];
        std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(value));
        return buf;
    }
};

} // namespace meshkit::topic

#endif // MESHKIT_TOPIC_TOPIC_ID_HPP

// wire/registry.hpp
// ~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_WIRE_REGISTRY_HPP
#define MESHKIT_WIRE_REGISTRY_HPP

#include <meshkit/result.hpp>
#include <meshkit/wire/codec.hpp>
#include <meshkit/wire/envelope.hpp>
#include <meshkit/wire/error.hpp>
#include <meshkit/wire/message.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <span>
#include <type_traits>
#include <variant>
#include <vector>

namespace meshkit::wire {

namespace detail {
template <type_id... Ids>
constexpr bool ids_unique() noexcept
{
    std::array<type_id, sizeof...(Ids)> ids{Ids...};
    std::sort(ids.begin(), ids.end());
    return std::adjacent_find(ids.begin(), ids.end()) == ids.end();
}
} // namespace detail

/** A closed set of message types, mapped to and from their wire ids.

    Each engine declares the registry of the messages it speaks; a node joins
    its engines' registries with `registry_union`. Duplicate ids are rejected
    at compile time.

    @tparam Ms the message types; each models `wire::message`.

    @par Example
    @code
    struct ping { static constexpr wire::type_id wire_id = 0x1001; std::uint64_t nonce; };
    struct pong { static constexpr wire::type_id wire_id = 0x1002; std::uint64_t nonce; };
    using my_messages = wire::registry<ping, pong>;

    std::vector<std::byte> datagram;
    my_messages::encode({.type = 0, .sender = me}, ping{7}, datagram);
    auto decoded = my_messages::decode(datagram); // result<decoded_message<variant<ping, pong>>>
    @endcode
*/
template <class... Ms>
class registry {
    static_assert((message<Ms> && ...),
                  "meshkit: every type in a wire::registry must model meshkit::wire::message "
                  "(a default-constructible aggregate with `static constexpr wire::type_id wire_id`)");
    static_assert(detail::ids_unique<Ms::wire_id...>(),
                  "meshkit: two messages in a wire::registry share a wire_id");

public:
    /// One of the registered messages.
    using variant_type = std::variant<Ms...>;

    /// True if `M` is registered.
    template <class M>
    static constexpr bool contains = (std::is_same_v<M, Ms> || ...);

    /// True if a registered message has wire id `id`.
    static constexpr bool contains_id(type_id id) noexcept { return ((Ms::wire_id == id) || ...); }

    /// The number of registered messages.
    static constexpr std::size_t size = sizeof...(Ms);

    /// The largest heap-per-input-byte factor of any registered message (see `max_expansion`).
    static constexpr std::size_t max_expansion = std::max({std::size_t{1}, wire::max_expansion<Ms>()...});

    /** Appends a full datagram (envelope, then body) to `out`.

        `header.type` is overwritten with `M::wire_id`.
    */
    template <class M>
        requires contains<M>
    static void encode(envelope header, M const& m, std::vector<std::byte>& out)
    {
        header.type = M::wire_id;
        encode_envelope(header, out);
        wire::encode(m, out);
    }

    /// Decodes the body of a message whose envelope says `type`.
    [[nodiscard]] static result<variant_type> decode_body(type_id type, std::span<std::byte const> body)
    {
        result<variant_type> out = make_error_code(errc::unknown_type);
        (void)((Ms::wire_id == type ? (out = to_variant<Ms>(wire::decode<Ms>(body)), true) : false) || ...);
        return out;
    }

    /// A decoded datagram: its envelope and its message.
    struct decoded {
        envelope header;
        variant_type message;
    };

    /** Decodes a whole datagram.

        Never throws for any input. Errors: everything `decode_envelope` and
        `wire::decode` report, and `unknown_type`.
    */
    [[nodiscard]] static result<decoded> decode(std::span<std::byte const> datagram)
    {
        auto env = decode_envelope(datagram);
        if (!env)
            return env.error();
        auto body = decode_body(env->header.type, env->body);
        if (!body)
            return body.error();
        return decoded{env->header, std::move(*body)};
    }

private:
    template <class M>
    static result<variant_type> to_variant(result<M>&& r)
    {
        if (!r)
            return r.error();
        return variant_type{std::in_place_type<M>, std::move(*r)};
    }
};

namespace detail {
template <class... Rs> struct registry_union_impl;
template <class... Ms> struct registry_union_impl<registry<Ms...>> { using type = registry<Ms...>; };
template <class... As, class... Bs, class... Rest>
struct registry_union_impl<registry<As...>, registry<Bs...>, Rest...>
    : registry_union_impl<registry<As..., Bs...>, Rest...> {};
template <> struct registry_union_impl<> { using type = registry<>; };
} // namespace detail

/// One registry holding every message of `Registries...` (ids must stay unique).
template <class... Registries>
using registry_union = typename detail::registry_union_impl<Registries...>::type;

} // namespace meshkit::wire

#endif // MESHKIT_WIRE_REGISTRY_HPP

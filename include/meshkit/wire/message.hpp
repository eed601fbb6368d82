// wire/message.hpp
// ~~~~~~~~~~~~~~~~
#ifndef MESHKIT_WIRE_MESSAGE_HPP
#define MESHKIT_WIRE_MESSAGE_HPP

#include <concepts>
#include <cstdint>
#include <type_traits>

namespace meshkit::wire {

/// The 16-bit number that names a message type on the wire.
using type_id = std::uint16_t;

/** Ranges of `type_id`.

    0 is never valid. meshkit's own engines use 1 to `user_first - 1`;
    applications number their messages from `user_first` up, so a toolkit
    upgrade never collides with them.
*/
inline constexpr type_id user_first = 0x1000;

/** A type that can travel as a meshkit message.

    1. It is a default-constructible aggregate, so Boost.PFR can read and
       write its fields and no serialisation code is needed.
    2. It names its wire identity: `static constexpr wire::type_id wire_id`.
*/
template <class M>
concept message = std::is_aggregate_v<M> && std::default_initializable<M> && requires {
    { M::wire_id } -> std::convertible_to<type_id>;
} && (M::wire_id != 0);

} // namespace meshkit::wire

#endif // MESHKIT_WIRE_MESSAGE_HPP

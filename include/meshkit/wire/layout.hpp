// wire/layout.hpp
// ~~~~~~~~~~~~~~~
#ifndef MESHKIT_WIRE_LAYOUT_HPP
#define MESHKIT_WIRE_LAYOUT_HPP

#include <meshkit/wire/traits.hpp>

#include <boost/pfr/core.hpp>

#include <algorithm>
#include <cstddef>
#include <utility>

namespace meshkit::wire {

/** The fewest bytes any encoding of `T` can occupy.

    The decoder checks every element count against this before it allocates:
    a length prefix that claims `n` elements is accepted only if the rest of
    the datagram could hold `n` minimal elements. A lying length therefore
    fails before any memory is reserved for it.
*/
template <class T>
constexpr std::size_t min_wire_size() noexcept
{
    if constexpr (scalar<T>)
        return sizeof(T);
    else if constexpr (detail::is_duration<T>::value)
        return sizeof(typename T::rep);
    else if constexpr (detail::is_string<T>::value || detail::is_vector<T>::value || detail::is_optional<T>::value)
        return 1; // one varint or flag byte
    else if constexpr (detail::is_std_array<T>::value)
        return std::tuple_size_v<T> * min_wire_size<typename T::value_type>();
    else if constexpr (reflected_aggregate<T>)
        return []<std::size_t... I>(std::index_sequence<I...>) {
            return (std::size_t{0} + ... + min_wire_size<boost::pfr::tuple_element_t<I, T>>());
        }(std::make_index_sequence<boost::pfr::tuple_size_v<T>>{});
    else
        return 0; // a user type with its own cereal functions: assume nothing
}

/** How many bytes of heap decoding `T` may use per byte of input, at most.

    Decoding a datagram of `s` bytes into a `T` allocates at most
    `max_expansion<T>() * s` bytes. The factor is exact arithmetic over the
    type: a `std::vector<E>` costs `sizeof(E)` per element and each element
    is backed by at least `min_wire_size<E>()` input bytes. The mutation test
    measures real allocations against this bound.
*/
template <class T>
constexpr std::size_t max_expansion() noexcept
{
    if constexpr (scalar<T> || detail::is_duration<T>::value)
        return 1;
    else if constexpr (detail::is_string<T>::value)
        return 2; // n characters plus a terminator, for n >= 1
    else if constexpr (detail::is_vector<T>::value) {
        using E = typename T::value_type;
        constexpr std::size_t per_element = std::max<std::size_t>(1, min_wire_size<E>());
        return std::max((sizeof(E) + per_element - 1) / per_element, max_expansion<E>());
    } else if constexpr (detail::is_optional<T>::value)
        return max_expansion<typename T::value_type>();
    else if constexpr (detail::is_std_array<T>::value)
        return max_expansion<typename T::value_type>();
    else if constexpr (reflected_aggregate<T>)
        return []<std::size_t... I>(std::index_sequence<I...>) {
            return std::max({std::size_t{1}, max_expansion<boost::pfr::tuple_element_t<I, T>>()...});
        }(std::make_index_sequence<boost::pfr::tuple_size_v<T>>{});
    else
        return 1;
}

} // namespace meshkit::wire

#endif // MESHKIT_WIRE_LAYOUT_HPP

// wire/traits.hpp
// ~~~~~~~~~~~~~~~
#ifndef MESHKIT_WIRE_TRAITS_HPP
#define MESHKIT_WIRE_TRAITS_HPP

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

namespace meshkit::wire {

/** Types written as their fixed-width little-endian bytes.

    Excluded: `long double` (its padding bytes would leak memory and its
    format differs between machines) and the wide character types, whose
    widths differ between platforms. Use the `<cstdint>` types.
*/
template <class T>
concept scalar = (std::is_arithmetic_v<T> || std::is_enum_v<T>) && !std::is_same_v<T, long double> &&
                 !std::is_same_v<T, wchar_t>;

namespace detail {
template <class T> struct is_vector : std::false_type {};
template <class T, class A> struct is_vector<std::vector<T, A>> : std::true_type {};
template <class T> struct is_std_array : std::false_type {};
template <class T, std::size_t N> struct is_std_array<std::array<T, N>> : std::true_type {};
template <class T> struct is_optional : std::false_type {};
template <class T> struct is_optional<std::optional<T>> : std::true_type {};
template <class T> struct is_duration : std::false_type {};
template <class R, class P> struct is_duration<std::chrono::duration<R, P>> : std::true_type {};
template <class T> struct is_string : std::false_type {};
template <class C, class Tr, class A> struct is_string<std::basic_string<C, Tr, A>> : std::true_type {};
} // namespace detail

/// Standard types the wire archives serialise themselves, rather than through reflection.
template <class T>
concept standard_wire_type = detail::is_vector<T>::value || detail::is_std_array<T>::value ||
                             detail::is_optional<T>::value || detail::is_duration<T>::value ||
                             detail::is_string<T>::value;

/** A plain aggregate whose fields are serialised one by one through Boost.PFR.

    A class that declares its own cereal `serialize`, `save` or `load` is left to
    cereal's normal dispatch instead.
*/
template <class T>
concept reflected_aggregate = std::is_aggregate_v<T> && !std::is_array_v<T> && !standard_wire_type<T> &&
                              !std::is_empty_v<T>;

} // namespace meshkit::wire

#endif // MESHKIT_WIRE_TRAITS_HPP

// type_list.hpp
// ~~~~~~~~~~~~~
#ifndef MESHKIT_TYPE_LIST_HPP
#define MESHKIT_TYPE_LIST_HPP

#include <cstddef>
#include <type_traits>
#include <variant>

namespace meshkit {

/// A list of types: how an engine declares the events it emits.
template <class... Ts>
struct type_list {};

namespace detail {
template <class... Lists> struct concat_impl;
template <> struct concat_impl<> { using type = type_list<>; };
template <class... Ts> struct concat_impl<type_list<Ts...>> { using type = type_list<Ts...>; };
template <class... As, class... Bs, class... Rest>
struct concat_impl<type_list<As...>, type_list<Bs...>, Rest...> : concat_impl<type_list<As..., Bs...>, Rest...> {};

template <class Out, class... Ts> struct unique_impl { using type = Out; };
template <class... Out, class T, class... Ts>
struct unique_impl<type_list<Out...>, T, Ts...>
    : unique_impl<std::conditional_t<(std::is_same_v<T, Out> || ...), type_list<Out...>, type_list<Out..., T>>, Ts...> {};

template <class List> struct unique_list;
template <class... Ts> struct unique_list<type_list<Ts...>> : unique_impl<type_list<>, Ts...> {};

template <class List> struct as_variant;
template <class... Ts> struct as_variant<type_list<Ts...>> { using type = std::variant<Ts...>; };

template <class List> struct first_impl;
template <class T, class... Ts> struct first_impl<type_list<T, Ts...>> { using type = T; };

template <class T, class List> struct index_impl;
template <class T, class... Ts> struct index_impl<T, type_list<Ts...>> {
    static constexpr std::size_t value = [] {
        constexpr bool hit[] = {std::is_same_v<T, Ts>...};
        for (std::size_t i = 0; i < sizeof...(Ts); ++i)
            if (hit[i])
                return i;
        return sizeof...(Ts);
    }();
    static_assert(value < sizeof...(Ts), "meshkit: that type is not in the list");
};
} // namespace detail

/// The lists joined, each type kept once (first occurrence wins).
template <class... Lists>
using type_list_union = typename detail::unique_list<typename detail::concat_impl<Lists...>::type>::type;

/// The first type of a non-empty list.
template <class List>
using first_t = typename detail::first_impl<List>::type;

/// The index of `T` in `List` (which must hold it).
template <class T, class List>
inline constexpr std::size_t type_list_index = detail::index_impl<T, List>::value;

/// `std::variant` of the list's types.
template <class List>
using variant_of = typename detail::as_variant<List>::type;

} // namespace meshkit

#endif // MESHKIT_TYPE_LIST_HPP

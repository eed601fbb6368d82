// wire/codec.hpp
// ~~~~~~~~~~~~~~
#ifndef MESHKIT_WIRE_CODEC_HPP
#define MESHKIT_WIRE_CODEC_HPP

#include <meshkit/result.hpp>
#include <meshkit/wire/archive.hpp>
#include <meshkit/wire/error.hpp>

#include <cstddef>
#include <span>
#include <vector>

namespace meshkit::wire {

/** Appends the wire encoding of `value` to `out`.

    @par Example
    @code
    struct point { std::int32_t x, y; };
    std::vector<std::byte> bytes;
    wire::encode(point{1, 2}, bytes); // 8 bytes: 01 00 00 00 02 00 00 00
    @endcode
*/
template <class T>
void encode(T const& value, std::vector<std::byte>& out)
{
    output_archive ar{out};
    ar(value);
}

/** Decodes exactly one `T` from `bytes`.

    Never throws for any input, never reads outside `bytes`, and allocates at
    most `max_expansion<T>() * bytes.size()` bytes of heap.

    @return the value, or a `wire::errc`: `truncated`, `invalid_value`,
    `malformed_length`, `length_exceeds_input` or `trailing_bytes`.
*/
template <class T>
[[nodiscard]] result<T> decode(std::span<std::byte const> bytes)
{
    T value{};
    input_archive ar{bytes};
    ar(value);
    // in_place_error: for T = bool an error_code would otherwise convert to the value.
    if (ar.failed())
        return result<T>(boost::system::in_place_error, ar.error());
    if (!ar.at_end())
        return result<T>(boost::system::in_place_error, make_error_code(errc::trailing_bytes));
    return value;
}

} // namespace meshkit::wire

#endif // MESHKIT_WIRE_CODEC_HPP

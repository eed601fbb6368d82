// wire/error.hpp
// ~~~~~~~~~~~~~~
#ifndef MESHKIT_WIRE_ERROR_HPP
#define MESHKIT_WIRE_ERROR_HPP

#include <string>
#include <system_error>
#include <type_traits>

namespace meshkit::wire {

/// Why a datagram could not be decoded (or a message could not be encoded).
enum class errc {
    /** The input ended before the value being read was complete. */
    truncated = 1,

    /** The first two bytes are not meshkit's magic number: not a meshkit datagram. */
    bad_magic,

    /** The envelope's protocol version is not one this build understands. */
    unsupported_version,

    /** The envelope names a message type the receiving registry does not know. */
    unknown_type,

    /** A field holds a value its type forbids (a bool or optional flag other than 0 or 1). */
    invalid_value,

    /** A length prefix is not a minimal LEB128 varint, or overflows 64 bits. */
    malformed_length,

    /** A length prefix claims more elements than the remaining bytes could hold. */
    length_exceeds_input,

    /** The message decoded completely but bytes remain after it. */
    trailing_bytes,

    /** The encoded datagram is larger than the limit it must fit in. */
    too_large,
};

/// The category of `meshkit::wire::errc`.
inline std::error_category const& error_category() noexcept
{
    struct category final : std::error_category {
        char const* name() const noexcept override { return "meshkit.wire"; }
        std::string message(int ev) const override
        {
            switch (static_cast<errc>(ev)) {
            case errc::truncated: return "datagram truncated";
            case errc::bad_magic: return "not a meshkit datagram (bad magic)";
            case errc::unsupported_version: return "unsupported protocol version";
            case errc::unknown_type: return "unknown message type";
            case errc::invalid_value: return "field holds an invalid value";
            case errc::malformed_length: return "malformed length prefix";
            case errc::length_exceeds_input: return "length prefix exceeds the datagram";
            case errc::trailing_bytes: return "trailing bytes after the message";
            case errc::too_large: return "message exceeds the size limit";
            }
            return "unknown wire error";
        }
    };
    static category const instance;
    return instance;
}

/// Makes `wire::errc` usable wherever a `std::error_code` is expected.
inline std::error_code make_error_code(errc e) noexcept
{
    return {static_cast<int>(e), error_category()};
}

} // namespace meshkit::wire

template <>
struct std::is_error_code_enum<meshkit::wire::errc> : std::true_type {};

#endif // MESHKIT_WIRE_ERROR_HPP

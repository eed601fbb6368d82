// security/signing_bytes.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_SECURITY_SIGNING_BYTES_HPP
#define MESHKIT_SECURITY_SIGNING_BYTES_HPP

#include <meshkit/wire/codec.hpp>

#include <cstddef>
#include <cstring>
#include <string_view>
#include <vector>

namespace meshkit::security {

/** The bytes a record's author signs: `domain`, then the record's wire encoding.

    The domain tag ("meshkit/peer_record/1") keeps a signature of one kind
    of record from being valid as another whose encoding happens to match,
    and names the version, so a changed layout cannot be confused with the
    old. The caller clears what the author does not vouch for (an age that
    grows at every hop, the signature itself) before passing `record`.
*/
template <class Record>
[[nodiscard]] std::vector<std::byte> signing_bytes(std::string_view domain, Record const& record)
{
    std::vector<std::byte> out(domain.size());
    std::memcpy(out.data(), domain.data(), domain.size());
    wire::encode(record, out);
    return out;
}

} // namespace meshkit::security

#endif // MESHKIT_SECURITY_SIGNING_BYTES_HPP

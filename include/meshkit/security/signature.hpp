// security/signature.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_SECURITY_SIGNATURE_HPP
#define MESHKIT_SECURITY_SIGNATURE_HPP

#include <array>
#include <cstdint>

namespace meshkit::security {

/** An Ed25519 signature: 64 bytes.

    Its own header, without libsodium's, so the records that carry one
    (`discovery::peer_record`, beacons) need no cryptography to be encoded.
*/
using signature = std::array<std::uint8_t, 64>;

} // namespace meshkit::security

#endif // MESHKIT_SECURITY_SIGNATURE_HPP

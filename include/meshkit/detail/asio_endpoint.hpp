// detail/asio_endpoint.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_DETAIL_ASIO_ENDPOINT_HPP
#define MESHKIT_DETAIL_ASIO_ENDPOINT_HPP

#include <meshkit/endpoint.hpp>

#include <asio/ip/address.hpp>
#include <asio/ip/address_v4.hpp>
#include <asio/ip/address_v6.hpp>

#include <cstring>

#include <sys/socket.h>

/*  Converting between meshkit's endpoint and Asio's, for the UDP and TCP
    transports alike: an IPv4 address is kept as IPv4, and an IPv4-mapped
    IPv6 address (what a dual-stack socket reports) is folded back to IPv4,
    so one peer never has two spellings.
*/

namespace meshkit::detail {

/// `e` as an Asio endpoint of protocol `AsioEndpoint` (`asio::ip::udp::endpoint`, `asio::ip::tcp::endpoint`).
template <class AsioEndpoint>
AsioEndpoint to_asio(endpoint const& e)
{
    if (e.is_v4())
        return {asio::ip::address_v4(e.v4_address()), e.port};
    asio::ip::address_v6::bytes_type b;
    std::memcpy(b.data(), e.ip.data(), 16);
    return {asio::ip::address_v6(b), e.port};
}

/// An Asio endpoint as meshkit's, with IPv4-mapped addresses folded to IPv4, on the Asio endpoint's protocol.
template <class AsioEndpoint>
endpoint from_asio(AsioEndpoint const& a)
{
    transport_protocol const protocol =
        a.protocol().type() == SOCK_STREAM ? transport_protocol::tcp : transport_protocol::udp;
    auto addr = a.address();
    if (addr.is_v6() && addr.to_v6().is_v4_mapped())
        addr = asio::ip::make_address_v4(asio::ip::v4_mapped, addr.to_v6());
    if (addr.is_v4())
        return endpoint::v4(addr.to_v4().to_uint(), a.port()).on(protocol);
    endpoint e;
    auto const b = addr.to_v6().to_bytes();
    std::memcpy(e.ip.data(), b.data(), 16);
    e.port = a.port();
    e.transport = protocol;
    return e;
}

} // namespace meshkit::detail

#endif // MESHKIT_DETAIL_ASIO_ENDPOINT_HPP

// Test that header file is self-contained.
#include <meshkit/sim/nat_box.hpp>

#include <meshkit/sim/network.hpp>
#include <meshkit/sim/transport.hpp>

#include <support/bytes.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace {

using namespace meshkit;
using test::bytes_of;
using namespace std::chrono_literals;

/// A host that records the source address of everything it receives.
struct probe {
    probe(sim::network& net, endpoint at) : t(net, at)
    {
        t.on_receive([this](endpoint const& from, std::span<std::byte const> d) {
            seen.push_back(from);
            text.emplace_back(reinterpret_cast<char const*>(d.data()), d.size());
        });
    }
    sim::transport t;
    std::vector<endpoint> seen;
    std::vector<std::string> text;
    endpoint address() const { return t.local_endpoint(); }
    void say(endpoint const& to, std::string const& s) { t.send(to, bytes_of(s)); }
};

struct NatTest : ::testing::Test {
    sim::network net{42};
    std::unique_ptr<probe> make(endpoint at) { return std::make_unique<probe>(net, at); }
    std::unique_ptr<probe> public_host() { return make(net.next_endpoint()); }
    std::unique_ptr<probe> behind(sim::nat_id n) { return make(net.next_endpoint_behind(n)); }
};

TEST_F(NatTest, EndpointIndependentMappingShowsOneAddressToEveryDestination)
{
    auto nat = net.add_nat(sim::nat_config::port_restricted_cone());
    auto h = behind(nat);
    auto a = public_host(), b = public_host();
    h->say(a->address(), "x");
    h->say(b->address(), "x");
    net.run_until_idle();
    ASSERT_EQ(a->seen.size(), 1u);
    ASSERT_EQ(b->seen.size(), 1u);
    EXPECT_EQ(a->seen[0], b->seen[0]);
    EXPECT_EQ(a->seen[0].v4_address(), net.nat_address(nat).v4_address());
    EXPECT_NE(a->seen[0], h->address()) << "the private address never leaves the NAT";
}

TEST_F(NatTest, SymmetricMappingShowsADifferentPortToEachDestination)
{
    auto nat = net.add_nat(sim::nat_config::symmetric());
    auto h = behind(nat);
    auto a = public_host(), b = public_host();
    h->say(a->address(), "x");
    h->say(b->address(), "x");
    h->say(a->address(), "again");
    net.run_until_idle();
    ASSERT_EQ(a->seen.size(), 2u);
    EXPECT_NE(a->seen[0].port, b->seen[0].port);
    EXPECT_EQ(a->seen[0], a->seen[1]) << "the same flow keeps its mapping";
}

TEST_F(NatTest, FilteringAdmitsWhatEachBehaviourAllows)
{
    struct row {
        sim::nat_config cfg;
        bool contacted, same_ip_other_port, stranger;
    };
    // Who may send to the mapping created by h -> a (RFC 4787 section 5).
    std::vector<row> const rows{
        {sim::nat_config::full_cone(), true, true, true},
        {sim::nat_config::restricted_cone(), true, true, false},
        {sim::nat_config::port_restricted_cone(), true, false, false},
    };
    std::uint8_t last_octet = 1;
    for (auto const& r : rows) {
        auto nat = net.add_nat(r.cfg);
        auto h = behind(nat);
        auto a = make(endpoint::v4(198, 51, 100, last_octet, 1000));
        auto a2 = make(endpoint::v4(198, 51, 100, last_octet, 2000));
        ++last_octet;
        auto stranger = public_host();
        h->say(a->address(), "open");
        net.run_until_idle();
        endpoint const mapped = a->seen.at(0);
        a->say(mapped, "from a");
        a2->say(mapped, "from a2");
        stranger->say(mapped, "from stranger");
        net.run_until_idle();
        auto got = [&](std::string const& s) { return std::find(h->text.begin(), h->text.end(), s) != h->text.end(); };
        EXPECT_EQ(got("from a"), r.contacted);
        EXPECT_EQ(got("from a2"), r.same_ip_other_port);
        EXPECT_EQ(got("from stranger"), r.stranger);
    }
}

TEST_F(NatTest, IdleMappingsExpireAndOutboundTrafficRefreshesThem)
{
    sim::nat_config cfg = sim::nat_config::port_restricted_cone();
    cfg.mapping_timeout = 30s;
    auto nat = net.add_nat(cfg);
    auto h = behind(nat);
    auto a = public_host();
    h->say(a->address(), "open");
    net.run_until_idle();
    endpoint const mapped = a->seen.at(0);

    net.advance(20s);
    h->say(a->address(), "keepalive"); // refreshes: expires 30 s from now
    net.advance(20s);
    a->say(mapped, "still open");
    net.run_until_idle();
    EXPECT_EQ(h->text.back(), "still open");

    net.advance(31s);
    a->say(mapped, "too late");
    net.run_until_idle();
    EXPECT_EQ(h->text.back(), "still open");
    EXPECT_EQ(net.nat(nat).stats().dropped_no_mapping, 1u);
}

TEST_F(NatTest, PortAssignmentPreservesCountsOrRandomises)
{
    auto preserving = net.add_nat(sim::nat_config::full_cone());
    sim::nat_config seq = sim::nat_config::full_cone();
    seq.ports = sim::nat_port_assignment::sequential;
    auto sequential = net.add_nat(seq);
    auto random = net.add_nat(sim::nat_config::symmetric());
    auto a = public_host();

    auto h = behind(preserving);
    h->say(a->address(), "x");
    auto s1 = behind(sequential), s2 = behind(sequential);
    s1->say(a->address(), "x");
    s2->say(a->address(), "x");
    auto r1 = behind(random), r2 = behind(random);
    r1->say(a->address(), "x");
    r2->say(a->address(), "x");
    net.run_until_idle();
    ASSERT_EQ(a->seen.size(), 5u);
    EXPECT_EQ(a->seen[0].port, h->address().port) << "preserving keeps the internal port";
    EXPECT_EQ(a->seen[2].port, a->seen[1].port + 1) << "sequential hands out the next port";
    EXPECT_NE(std::abs(a->seen[4].port - a->seen[3].port), 1) << "random ports are not consecutive";
}

TEST_F(NatTest, HostsBehindOneNatMeetDirectlyOrThroughHairpinning)
{
    sim::nat_config cfg = sim::nat_config::port_restricted_cone();
    auto nat = net.add_nat(cfg);
    auto h1 = behind(nat), h2 = behind(nat);
    auto a = public_host();
    h2->say(a->address(), "learn my mapping");
    net.run_until_idle();
    endpoint const h2_external = a->seen.at(0);

    h1->say(h2->address(), "over the LAN");
    net.run_until_idle();
    EXPECT_EQ(h2->seen.at(0), h1->address()) << "on the LAN, private addresses are used as they are";

    // Hairpin: h1 uses h2's external address. h2's filter must know h1's mapped address first.
    h1->say(a->address(), "map h1");
    net.run_until_idle();
    endpoint const h1_external = a->seen.at(1);
    h2->say(h1_external, "open h2 to h1");
    h1->say(h2_external, "hairpinned");
    net.run_until_idle();
    EXPECT_EQ(h2->text.back(), "hairpinned");
    EXPECT_EQ(h2->seen.back(), h1_external) << "a hairpinned datagram shows the external source";

    sim::nat_config no_hairpin = cfg;
    no_hairpin.hairpinning = false;
    auto strict = net.add_nat(no_hairpin);
    auto s1 = behind(strict), s2 = behind(strict);
    s2->say(a->address(), "map s2");
    net.run_until_idle();
    s1->say(a->seen.back(), "no hairpin");
    net.run_until_idle();
    EXPECT_TRUE(s2->text.empty());
    EXPECT_EQ(net.nat(strict).stats().dropped_hairpin, 1u);
}

TEST_F(NatTest, PrivateAddressesAreUnreachableFromOutside)
{
    auto nat = net.add_nat(sim::nat_config::full_cone());
    auto h = behind(nat);
    auto a = public_host();
    a->say(h->address(), "private");
    net.run_until_idle();
    EXPECT_TRUE(h->text.empty());
}

TEST_F(NatTest, CarrierGradeNatIsTwoBoxesInSeries)
{
    auto carrier = net.add_nat(sim::nat_config::cgnat());
    auto home = net.add_nat(sim::nat_config::port_restricted_cone(), carrier);
    auto h = behind(home);
    auto a = public_host();
    h->say(a->address(), "through two NATs");
    net.run_until_idle();
    ASSERT_EQ(a->seen.size(), 1u);
    EXPECT_EQ(a->seen[0].v4_address(), net.nat_address(carrier).v4_address()) << "the world sees the carrier's address";
    a->say(a->seen[0], "reply");
    net.run_until_idle();
    ASSERT_EQ(h->text.size(), 1u);
    EXPECT_EQ(h->text[0], "reply");
    EXPECT_EQ(net.nat(home).stats().translated_in, 1u);
    EXPECT_EQ(net.nat(carrier).stats().translated_in, 1u);
}

/// Two hosts behind NATs learn their external addresses from a public
/// rendezvous, then both fire at once: the classic UDP hole punch.
bool punch(sim::network& net, sim::nat_config const& left, sim::nat_config const& right)
{
    auto ln = net.add_nat(left), rn = net.add_nat(right);
    probe l{net, net.next_endpoint_behind(ln)}, r{net, net.next_endpoint_behind(rn)};
    probe rendezvous{net, net.next_endpoint()};
    l.say(rendezvous.address(), "l");
    r.say(rendezvous.address(), "r");
    net.run_until_idle();
    endpoint const l_ext = rendezvous.seen.at(0), r_ext = rendezvous.seen.at(1);
    for (int round = 0; round < 3; ++round) {
        l.say(r_ext, "punch");
        r.say(l_ext, "punch");
        // Like ICE's peer-reflexive candidates: also answer the address a
        // punch actually came from, which a symmetric NAT picked just now.
        for (auto const& from : l.seen)
            l.say(from, "punch");
        for (auto const& from : r.seen)
            if (from != rendezvous.address())
                r.say(from, "punch");
        net.advance(100ms);
    }
    net.run_until_idle();
    return !l.text.empty() && !r.text.empty();
}

TEST(NatHolePunching, ConesMeetSymmetricPairsDoNot)
{
    sim::network net{7};
    EXPECT_TRUE(punch(net, sim::nat_config::port_restricted_cone(), sim::nat_config::port_restricted_cone()));
    EXPECT_TRUE(punch(net, sim::nat_config::full_cone(), sim::nat_config::symmetric()));
    EXPECT_FALSE(punch(net, sim::nat_config::port_restricted_cone(), sim::nat_config::symmetric()))
        << "the symmetric side shows the cone a port it never saw";
    EXPECT_FALSE(punch(net, sim::nat_config::symmetric(), sim::nat_config::symmetric()));
}

} // namespace

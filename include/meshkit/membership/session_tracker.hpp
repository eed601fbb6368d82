// membership/session_tracker.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_MEMBERSHIP_SESSION_TRACKER_HPP
#define MESHKIT_MEMBERSHIP_SESSION_TRACKER_HPP

#include <meshkit/endpoint.hpp>
#include <meshkit/membership/rtt_estimator.hpp>
#include <meshkit/node_id.hpp>
#include <meshkit/time.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <vector>

namespace meshkit::membership {

/// What the tracker knows about one live peer.
struct session {
    node_id id;
    endpoint address;
    time_point first_seen{};
    time_point last_heard{};
    rtt_estimator rtt;
    /// The nonce of the ping awaiting a pong, 0 when none is.
    std::uint64_t outstanding_nonce = 0;
    time_point ping_sent{};
    /// A new address the peer was seen at, being validated with its own nonce.
    endpoint probe_address{};
    std::uint64_t probe_nonce = 0;
    time_point probe_sent{};
};

/** The set of peers this node has heard from recently, with a hard size bound.

    A peer is "online" only while it keeps talking: `expire` removes every
    session silent for longer than the timeout and returns them. lattice's
    users found that a peer marked online there stays online forever once it
    vanishes; here it cannot, because being online is defined by recent
    traffic, not by a flag someone must remember to clear.
*/
class session_tracker {
public:
    explicit session_tracker(std::size_t capacity = 64) : capacity_(capacity) {}

    /** Records traffic from `id` at `address`.

        Only traffic from the session's own address counts: a datagram that
        merely claims an id proves nothing about the peer behind it. An
        address change is adopted through `open` once the new path is
        validated.

        @return the refreshed session, or nullptr if there is none at that address.
    */
    session* refresh(node_id const& id, endpoint const& address, time_point now)
    {
        auto it = sessions_.find(id);
        if (it == sessions_.end() || it->second.address != address)
            return nullptr;
        it->second.last_heard = now;
        return &it->second;
    }

    /** Opens a session for `id` at a validated `address`, or moves an existing one there.

        @return the session, or nullptr when `id` is new and the tracker is
        full. `created` is set when a new session was opened.
    */
    session* open(node_id const& id, endpoint const& address, time_point now, bool& created)
    {
        created = false;
        if (auto it = sessions_.find(id); it != sessions_.end()) {
            it->second.last_heard = now;
            it->second.address = address;
            return &it->second;
        }
        if (sessions_.size() >= capacity_)
            return nullptr;
        created = true;
        auto [it, _] = sessions_.emplace(id, session{id, address, now, now, rtt_estimator{alpha_}, 0, {}});
        return &it->second;
    }

    /// Removes and returns every session silent for longer than `timeout`.
    std::vector<session> expire(time_point now, duration timeout)
    {
        std::vector<session> gone;
        for (auto const& [id, s] : sessions_)
            if (now - s.last_heard > timeout)
                gone.push_back(s);
        for (auto const& s : gone)
            sessions_.erase(s.id);
        return gone;
    }

    [[nodiscard]] session* find(node_id const& id) noexcept
    {
        auto it = sessions_.find(id);
        return it == sessions_.end() ? nullptr : &it->second;
    }

    [[nodiscard]] session const* find(node_id const& id) const noexcept
    {
        auto it = sessions_.find(id);
        return it == sessions_.end() ? nullptr : &it->second;
    }

    void erase(node_id const& id) { sessions_.erase(id); }

    /// Calls `f(session&)` for every session.
    template <class F>
    void for_each(F&& f)
    {
        for (auto& [id, s] : sessions_)
            f(s);
    }

    template <class F>
    void for_each(F&& f) const
    {
        for (auto const& [id, s] : sessions_)
            f(s);
    }

    [[nodiscard]] std::size_t size() const noexcept { return sessions_.size(); }
    [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }

    /// The EWMA weight given to new sessions' RTT estimators.
    void set_rtt_alpha(double alpha) noexcept { alpha_ = alpha; }

private:
    std::size_t capacity_;
    double alpha_ = 0.125;
    // Ordered, so iteration (pings, expiry) follows node ids on every
    // platform and Boost version: part of a simulation's determinism.
    std::map<node_id, session> sessions_;
};

} // namespace meshkit::membership

#endif // MESHKIT_MEMBERSHIP_SESSION_TRACKER_HPP

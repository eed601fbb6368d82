// nat/reliable_channel.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_NAT_RELIABLE_CHANNEL_HPP
#define MESHKIT_NAT_RELIABLE_CHANNEL_HPP

#include <meshkit/time.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <set>
#include <span>
#include <vector>

namespace meshkit::nat {

/** Acknowledged messages between this node and one peer: numbered, sent again until acknowledged, delivered once.

    The sending side numbers its messages from 1 under a session number
    (nonzero; the caller draws it at random, so a side made anew starts a
    new session). It holds at most `max_pending` unacknowledged messages,
    and sends each again after `interval` until an acknowledgement names
    its session and number.

    The receiving side keeps the sender's session number, the number below
    which it has every message (the floor), and the numbers it has above
    the floor. A repeat is acknowledged again but not delivered again. A
    new session number starts the count afresh. A number more than
    `window` above the floor is dropped unacknowledged: an honest sender
    never gets that far ahead, and the bound keeps the set small. Delivery
    is not ordered: a message is delivered when it first arrives.

    The channel knows nothing of paths, frames or peers. Each call that
    sends takes a function `send(session, seq, payload)` that puts one data
    frame on whatever path the caller has at that moment, or on none (the
    message then counts as sent, and goes again at its next turn). The
    caller sends the acknowledgements `receive` asks for, delivers what it
    marks fresh, and counts what the calls return. The connection ladder
    (`nat::connector`) keeps one per connection, over `nt_data` on a direct
    path and relay frames on a relayed one.

    @par Example
    @code
    reliable_channel ch(rng() | 1);
    if (!ch.push(payload, 64))
        return meshkit::errc::queue_full;
    ch.send_newest(now, [&](std::uint64_t session, std::uint64_t seq, std::span<std::byte const> p) {
        send_frame(session, seq, p);
    });
    // on a frame:  switch (ch.receive(session, seq, 256)) { ... }
    // on an ack:   ch.acknowledge(session, seq);
    // each tick:   ch.send_due(now, 1s, send_frame);
    @endcode

    @par Thread safety
    <em>Distinct objects</em>: Safe. <em>Shared objects</em>: Unsafe.
*/
class reliable_channel {
public:
    /// What `receive` made of a data frame.
    enum class receipt : std::uint8_t {
        /// Not a message (session or number 0), or too far ahead: do not acknowledge it.
        ignored,
        /// Delivered before: acknowledge it again, do not deliver it.
        repeated,
        /// New: deliver it and acknowledge it.
        fresh,
    };

    /// A channel that cannot send until it is given a session (assign one made with a session number).
    reliable_channel() = default;

    /// A channel whose messages carry `session`, which must not be 0.
    explicit reliable_channel(std::uint64_t session) noexcept : tx_session_(session) {}

    /// The session number this side's messages carry.
    [[nodiscard]] std::uint64_t session() const noexcept { return tx_session_; }

    /// Messages queued and not yet acknowledged.
    [[nodiscard]] std::size_t pending() const noexcept { return unacked_.size(); }

    // -- sending -----------------------------------------------------------------

    /** Queues `payload` as the next message; it is not sent yet.

        @return false, queueing nothing, when `max_pending` messages are
        unacknowledged.
    */
    bool push(std::span<std::byte const> payload, std::size_t max_pending)
    {
        if (unacked_.size() >= max_pending)
            return false;
        unacked_.push_back(outgoing{next_seq_++, {payload.begin(), payload.end()}, time_point::min()});
        return true;
    }

    /// Sends the message `push` queued last, now.
    template <class Send>
    void send_newest(time_point now, Send&& send)
    {
        if (!unacked_.empty())
            transmit(unacked_.back(), now, send);
    }

    /** Sends every message never sent, and every one last sent `interval` ago or earlier.

        @return how many of them had been sent before (retransmissions).
    */
    template <class Send>
    std::size_t send_due(time_point now, duration interval, Send&& send)
    {
        std::size_t again = 0;
        for (auto& o : unacked_)
            if (o.last_sent == time_point::min() || now - o.last_sent >= interval)
                again += transmit(o, now, send);
        return again;
    }

    /** Sends every unacknowledged message now, whenever it was last sent (for a path just made).

        @return how many of them had been sent before (retransmissions).
    */
    template <class Send>
    std::size_t send_all(time_point now, Send&& send)
    {
        std::size_t again = 0;
        for (auto& o : unacked_)
            again += transmit(o, now, send);
        return again;
    }

    /** Takes an acknowledgement of message `seq` of `session`.

        @return whether it acknowledged a message still pending.
    */
    bool acknowledge(std::uint64_t session, std::uint64_t seq)
    {
        if (session != tx_session_)
            return false;
        auto it = std::find_if(unacked_.begin(), unacked_.end(), [&](outgoing const& o) { return o.seq == seq; });
        if (it == unacked_.end())
            return false;
        unacked_.erase(it);
        return true;
    }

    // -- receiving ---------------------------------------------------------------

    /** Takes data frame `seq` of the peer's `session`, and says what to do with it.

        A new session number resets what this side remembers of the peer's
        numbering. A message more than `window` above the floor is
        `ignored`.
    */
    receipt receive(std::uint64_t session, std::uint64_t seq, std::uint64_t window)
    {
        if (session == 0 || seq == 0)
            return receipt::ignored;
        if (session != rx_session_) {
            rx_session_ = session; // the peer restarted its numbering
            rx_floor_ = 0;
            rx_above_.clear();
        }
        if (seq <= rx_floor_ || rx_above_.contains(seq))
            return receipt::repeated;
        if (seq > rx_floor_ + window)
            return receipt::ignored;
        rx_above_.insert(seq);
        while (rx_above_.contains(rx_floor_ + 1)) {
            rx_above_.erase(rx_floor_ + 1);
            ++rx_floor_;
        }
        return receipt::fresh;
    }

private:
    struct outgoing {
        std::uint64_t seq;
        std::vector<std::byte> payload;
        time_point last_sent;
    };

    /// @return 1 for a retransmission, else 0.
    template <class Send>
    std::size_t transmit(outgoing& o, time_point now, Send& send) const
    {
        std::size_t const again = o.last_sent != time_point::min() ? 1 : 0;
        o.last_sent = now;
        send(tx_session_, o.seq, std::span<std::byte const>(o.payload));
        return again;
    }

    std::uint64_t tx_session_ = 0, next_seq_ = 1;
    std::deque<outgoing> unacked_;
    std::uint64_t rx_session_ = 0, rx_floor_ = 0;
    std::set<std::uint64_t> rx_above_;
};

} // namespace meshkit::nat

#endif // MESHKIT_NAT_RELIABLE_CHANNEL_HPP

// detail/discovery_persistence.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_DETAIL_DISCOVERY_PERSISTENCE_HPP
#define MESHKIT_DETAIL_DISCOVERY_PERSISTENCE_HPP

#include <meshkit/time.hpp>

#include <system_error>

/*  How basic_node persists a discovery policy that can persist itself (the
    peer cache): load it at construction, save it on significant change
    after each hook, and save what is pending on a clean stop. A policy
    without `load`/`save` (static seeds) is left alone, at no cost.
*/

namespace meshkit::detail {

/// Loads what the policy saved; @return why it could not be loaded (empty if it could, or cannot persist).
template <class Discovery, class Storage>
std::error_code load_discovery(Discovery& d, Storage& storage, time_point now)
{
    if constexpr (requires { d.load(storage, now); })
        return d.load(storage, now);
    else
        return {};
}

/// Saves once enough has changed ("persist on significant change"); the rate limit runs on the node's clock.
template <class Discovery, class Storage>
void persist_discovery(Discovery& d, Storage& storage, time_point now)
{
    if constexpr (requires { d.save_if_changed(storage); }) {
        if constexpr (requires { d.observe_time(now); })
            d.observe_time(now);
        (void)d.save_if_changed(storage);
    }
}

/// Saves whatever changed since the last save: what the policy learned survives a clean stop.
template <class Discovery, class Storage>
void save_discovery_now(Discovery& d, Storage& storage) noexcept
{
    if constexpr (requires { d.pending_changes(); d.save(storage); })
        if (d.pending_changes() != 0) {
            try {
                (void)d.save(storage);
            } catch (...) {
                // Out of memory while encoding: the last save stands.
            }
        }
}

} // namespace meshkit::detail

#endif // MESHKIT_DETAIL_DISCOVERY_PERSISTENCE_HPP

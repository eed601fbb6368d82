// meshkit.hpp
// ~~~~~~~~~~~
#ifndef MESHKIT_MESHKIT_HPP
#define MESHKIT_MESHKIT_HPP

/// The whole toolkit except the UDP runtime: include <meshkit/udp/udp_policies.hpp>
/// for that, which brings in Asio.

#include <meshkit/broadcast/broadcast_stats.hpp>
#include <meshkit/broadcast/dedup_cache.hpp>
#include <meshkit/broadcast/delivered.hpp>
#include <meshkit/broadcast/flooding.hpp>
#include <meshkit/broadcast/message_key.hpp>
#include <meshkit/broadcast/plumtree.hpp>
#include <meshkit/broadcast/plumtree_messages.hpp>
#include <meshkit/broadcast/push_gossip.hpp>
#include <meshkit/broadcast/push_gossip_messages.hpp>
#include <meshkit/concepts/clock.hpp>
#include <meshkit/concepts/discovery_strategy.hpp>
#include <meshkit/concepts/engine.hpp>
#include <meshkit/concepts/hierarchy_strategy.hpp>
#include <meshkit/concepts/metrics_sink.hpp>
#include <meshkit/concepts/node_policies.hpp>
#include <meshkit/concepts/storage_backend.hpp>
#include <meshkit/concepts/transport.hpp>
#include <meshkit/discovery/static_seeds.hpp>
#include <meshkit/endpoint.hpp>
#include <meshkit/engine_context.hpp>
#include <meshkit/error.hpp>
#include <meshkit/hierarchy/flat.hpp>
#include <meshkit/hierarchy/node_role.hpp>
#include <meshkit/inbound.hpp>
#include <meshkit/membership/hyparview.hpp>
#include <meshkit/membership/hyparview_messages.hpp>
#include <meshkit/membership/liveness.hpp>
#include <meshkit/membership/liveness_messages.hpp>
#include <meshkit/membership/rtt_estimator.hpp>
#include <meshkit/membership/session_tracker.hpp>
#include <meshkit/metrics/in_memory_metrics.hpp>
#include <meshkit/metrics/null_metrics.hpp>
#include <meshkit/node.hpp>
#include <meshkit/node_config.hpp>
#include <meshkit/node_id.hpp>
#include <meshkit/node_policies.hpp>
#include <meshkit/node_stats.hpp>
#include <meshkit/overlay_events.hpp>
#include <meshkit/peer_events.hpp>
#include <meshkit/peer_info.hpp>
#include <meshkit/result.hpp>
#include <meshkit/sim/cluster.hpp>
#include <meshkit/sim/link_model.hpp>
#include <meshkit/sim/network.hpp>
#include <meshkit/sim/transport.hpp>
#include <meshkit/sim/virtual_clock.hpp>
#include <meshkit/storage/memory_store.hpp>
#include <meshkit/time.hpp>
#include <meshkit/type_list.hpp>
#include <meshkit/version.hpp>
#include <meshkit/wire/archive.hpp>
#include <meshkit/wire/codec.hpp>
#include <meshkit/wire/envelope.hpp>
#include <meshkit/wire/error.hpp>
#include <meshkit/wire/layout.hpp>
#include <meshkit/wire/message.hpp>
#include <meshkit/wire/registry.hpp>
#include <meshkit/wire/traits.hpp>

#endif // MESHKIT_MESHKIT_HPP

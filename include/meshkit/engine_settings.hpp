// engine_settings.hpp
// ~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_ENGINE_SETTINGS_HPP
#define MESHKIT_ENGINE_SETTINGS_HPP

#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

namespace meshkit {

/// An engine whose run-time settings are a `config_type` it is built from.
template <class E>
concept configurable_engine = requires { typename E::config_type; } &&
                              std::constructible_from<E, typename E::config_type const&>;

namespace detail {
/// One address per type, in every translation unit: a key without RTTI.
template <class T> inline constexpr char type_key = 0;
} // namespace detail

/** Run-time settings of a node's engines, indexed by engine type.

    Each engine keeps its settings beside it (`E::config_type`), and this
    holds one value per engine type that was set. An engine the user
    writes takes settings exactly as a built-in one does:

    @code
    node_config c;
    c.engine<membership::hyparview>().shuffle_interval = 5s;
    c.engine<my::greeter>().greeting = "hello";   // my::greeter::config_type
    @endcode

    Nothing here names an engine, so including it costs no engine header.
    Values are copied with the settings (a `node_config` is a value).
*/
class engine_settings {
public:
    engine_settings() = default;
    engine_settings(engine_settings&&) noexcept = default;
    engine_settings& operator=(engine_settings&&) noexcept = default;
    ~engine_settings() = default;

    engine_settings(engine_settings const& other)
    {
        entries_.reserve(other.entries_.size());
        for (entry const& e : other.entries_)
            entries_.push_back({e.key, e.value->clone()});
    }

    engine_settings& operator=(engine_settings const& other)
    {
        if (this != &other) {
            engine_settings copy(other);
            entries_ = std::move(copy.entries_);
        }
        return *this;
    }

    /// The settings of engine `E`, default ones created on first use, to change.
    template <configurable_engine E>
    [[nodiscard]] typename E::config_type& of()
    {
        using config = typename E::config_type;
        if (auto* found = find<E>())
            return static_cast<holder<config>&>(*found).value;
        auto fresh = std::make_unique<holder<config>>();
        config& value = fresh->value;
        entries_.push_back({&detail::type_key<E>, std::move(fresh)});
        return value;
    }

    /// The settings of engine `E`: those set, or its defaults.
    template <configurable_engine E>
    [[nodiscard]] typename E::config_type of() const
    {
        using config = typename E::config_type;
        if (auto const* found = find<E>())
            return static_cast<holder<config> const&>(*found).value;
        return config{};
    }

    /// Whether settings for `E` were set (or created by a non-const `of`).
    template <class E>
    [[nodiscard]] bool contains() const noexcept
    {
        return find<E>() != nullptr;
    }

private:
    struct holder_base {
        virtual ~holder_base() = default;
        [[nodiscard]] virtual std::unique_ptr<holder_base> clone() const = 0;
    };

    template <class Config>
    struct holder final : holder_base {
        Config value{};
        holder() = default;
        explicit holder(Config const& v) : value(v) {}
        [[nodiscard]] std::unique_ptr<holder_base> clone() const override { return std::make_unique<holder>(value); }
    };

    struct entry {
        void const* key;
        std::unique_ptr<holder_base> value;
    };

    template <class E>
    holder_base* find() const noexcept
    {
        // A node has a handful of engines: a scan beats any index.
        for (entry const& e : entries_)
            if (e.key == &detail::type_key<E>)
                return e.value.get();
        return nullptr;
    }

    std::vector<entry> entries_;
};

} // namespace meshkit

#endif // MESHKIT_ENGINE_SETTINGS_HPP

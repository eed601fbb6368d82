// storage/memory_store.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_STORAGE_MEMORY_STORE_HPP
#define MESHKIT_STORAGE_MEMORY_STORE_HPP

#include <meshkit/concepts/storage_backend.hpp>
#include <meshkit/storage/error.hpp>

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace meshkit::storage {

/** Keeps values in process memory; models `meshkit::storage_backend`.

    Copies share one map, so a simulated node can be destroyed and rebuilt
    with a copy of its old store, as a real node restarts with its old disk.
    Nothing survives the process: use `file_store` for that.
*/
class memory_store {
public:
    std::error_code load(std::string_view key, std::vector<std::byte>& out) const
    {
        out.clear();
        auto it = data_->find(key);
        if (it == data_->end())
            return storage::errc::not_found;
        out = it->second;
        return {};
    }

    std::error_code store(std::string_view key, std::span<std::byte const> value)
    {
        (*data_)[std::string(key)].assign(value.begin(), value.end());
        return {};
    }

    std::error_code erase(std::string_view key)
    {
        if (auto it = data_->find(key); it != data_->end())
            data_->erase(it);
        return {};
    }

    /// The number of keys held.
    [[nodiscard]] std::size_t size() const noexcept { return data_->size(); }

private:
    std::shared_ptr<std::map<std::string, std::vector<std::byte>, std::less<>>> data_ =
        std::make_shared<std::map<std::string, std::vector<std::byte>, std::less<>>>();
};

} // namespace meshkit::storage

#endif // MESHKIT_STORAGE_MEMORY_STORE_HPP

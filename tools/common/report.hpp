// tools/common/report.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~
// Tables that print aligned for people, and the same figures as JSON for
// scripts. Shared by meshkit-sim and the bench programs; not part of the
// public API.
#ifndef MESHKIT_TOOLS_COMMON_REPORT_HPP
#define MESHKIT_TOOLS_COMMON_REPORT_HPP

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

namespace meshkit::tools {

/// A titled table of text cells, printed with aligned columns.
class report_table {
public:
    report_table(std::string title, std::vector<std::string> columns)
        : title_(std::move(title)), columns_(std::move(columns))
    {
    }

    void add_row(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }

    void print_text(std::FILE* out = stdout) const
    {
        std::vector<std::size_t> width(columns_.size());
        for (std::size_t c = 0; c < columns_.size(); ++c) {
            width[c] = columns_[c].size();
            for (auto const& r : rows_)
                width[c] = std::max(width[c], c < r.size() ? r[c].size() : 0);
        }
        std::fprintf(out, "\n%s\n", title_.c_str());
        auto line = [&](std::vector<std::string> const& cells) {
            std::fputs("|", out);
            for (std::size_t c = 0; c < columns_.size(); ++c)
                std::fprintf(out, " %-*s |", static_cast<int>(width[c]), c < cells.size() ? cells[c].c_str() : "");
            std::fputs("\n", out);
        };
        line(columns_);
        std::fputs("|", out);
        for (auto w : width)
            std::fprintf(out, "%s|", std::string(w + 2, '-').c_str());
        std::fputs("\n", out);
        for (auto const& r : rows_)
            line(r);
    }

private:
    std::string title_;
    std::vector<std::string> columns_;
    std::vector<std::vector<std::string>> rows_;
};

/// Formats a number with a fixed count of decimals.
inline std::string fixed(double v, int decimals = 1)
{
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    return buf;
}

/** A program's figures for scripts: every figure a number, its unit in its key.

    Ordered, so that keys print in the order a program adds them, which
    follows its tables.
*/
using figures = nlohmann::ordered_json;

/// Prints the tables for people, or `numbers` as one JSON document for scripts.
inline void print_report(std::vector<report_table> const& tables, figures const& numbers, bool as_json)
{
    if (as_json) {
        std::printf("%s\n", numbers.dump(2).c_str());
        return;
    }
    for (auto const& t : tables)
        t.print_text();
}

} // namespace meshkit::tools

#endif // MESHKIT_TOOLS_COMMON_REPORT_HPP

// tools/common/report.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~
// A table that prints aligned for people or as JSON for scripts. Shared by
// meshkit-sim and the bench programs; not part of the public API.
#ifndef MESHKIT_TOOLS_COMMON_REPORT_HPP
#define MESHKIT_TOOLS_COMMON_REPORT_HPP

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace meshkit::tools {

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

    /// The table as a JSON object: {"title": ..., "rows": [{column: cell, ...}, ...]}.
    [[nodiscard]] std::string json() const
    {
        std::string s = "{\"title\":" + quote(title_) + ",\"rows\":[";
        for (std::size_t i = 0; i < rows_.size(); ++i) {
            s += i ? ",{" : "{";
            for (std::size_t c = 0; c < columns_.size() && c < rows_[i].size(); ++c)
                s += (c ? "," : "") + quote(columns_[c]) + ":" + value(rows_[i][c]);
            s += "}";
        }
        return s + "]}";
    }

private:
    static std::string quote(std::string_view v)
    {
        std::string s = "\"";
        for (char ch : v) {
            if (ch == '"' || ch == '\\') {
                s += '\\';
                s += ch;
            } else if (static_cast<unsigned char>(ch) < 0x20) {
                char buf[8];
                std::snprintf(buf, sizeof buf, "\\u%04x", ch);
                s += buf;
            } else {
                s += ch;
            }
        }
        return s + "\"";
    }

    // Numbers stay numbers in JSON so scripts can compare them; anything
    // that is not a plain decimal (hashes, inf, nan) is quoted.
    static std::string value(std::string const& cell)
    {
        if (cell.empty())
            return "null";
        std::size_t i = cell[0] == '-' ? 1 : 0;
        bool digits = false, dot = false;
        for (; i < cell.size(); ++i) {
            if (cell[i] >= '0' && cell[i] <= '9')
                digits = true;
            else if (cell[i] == '.' && !dot)
                dot = true;
            else
                return quote(cell);
        }
        bool const leading_zero = cell.size() > 1 && cell[cell[0] == '-'] == '0' && cell[(cell[0] == '-') + 1] != '.';
        return digits && !leading_zero ? cell : quote(cell);
    }

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

/// Prints tables as text, or as one JSON document {"tool":..., "tables":[...]}.
inline void print_report(std::string_view tool, std::vector<report_table> const& tables, bool as_json)
{
    if (!as_json) {
        for (auto const& t : tables)
            t.print_text();
        return;
    }
    std::string s = "{\"tool\":\"" + std::string(tool) + "\",\"tables\":[";
    for (std::size_t i = 0; i < tables.size(); ++i)
        s += (i ? "," : "") + tables[i].json();
    std::printf("%s]}\n", s.c_str());
}

} // namespace meshkit::tools

#endif // MESHKIT_TOOLS_COMMON_REPORT_HPP

// tools/common/cli.hpp
// ~~~~~~~~~~~~~~~~~~~~
// What meshkit's programs add to CLI11: options read with meshkit's own
// `T::parse`, numeric bounds with readable messages, and the exit status of
// a bad command line. Shared by meshkit-node, meshkit-sim and the bench
// programs; not part of the public API.
#ifndef MESHKIT_TOOLS_COMMON_CLI_HPP
#define MESHKIT_TOOLS_COMMON_CLI_HPP

#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstdlib>
#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace meshkit::tools {

/** Parses the command line, or exits.

    `--help` prints the help on standard output and exits with 0. A bad
    command line prints CLI11's message on standard error and exits with 2,
    so that scripts can tell it from a run that failed (status 1).
*/
inline void parse_or_exit(CLI::App& app, int argc, char** argv)
{
    try {
        app.parse(argc, argv);
    } catch (CLI::ParseError const& e) {
        std::exit(app.exit(e) == 0 ? 0 : 2);
    }
}

/** A check that the value is a number in [min, below).

    CLI11 2.1's own `Range` prints an open bound in full (309 digits for a
    double), and reads "-5" into an unsigned option as 2^64 - 5; this check
    compares the value as a double, so a negative one is refused. Text that
    is not a number passes here and fails CLI11's conversion, which says so.
*/
inline CLI::Validator in_range(double min, double below = std::numeric_limits<double>::infinity())
{
    auto const text_of = [](double v) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%g", v);
        return std::string(buf);
    };
    bool const open_ended = below == std::numeric_limits<double>::infinity();
    std::string const rule = open_ended ? "at least " + text_of(min) : "in [" + text_of(min) + ", " + text_of(below) + ")";
    return CLI::Validator(
        [min, below, rule](std::string& text) {
            char* end = nullptr;
            double const v = std::strtod(text.c_str(), &end);
            if (end == text.c_str() || (v >= min && v < below))
                return std::string{};
            return "must be " + rule + ", not " + text;
        },
        open_ended ? ">= " + text_of(min) : rule);
}

/// A check that `T::parse` accepts the value; `form` says what it expects (`HOST:PORT`).
template <class T>
CLI::Validator parses_as(std::string form)
{
    return CLI::Validator(
        [form](std::string& text) { return T::parse(text) ? std::string{} : text + " is not a valid " + form; },
        ""); // `form` is the option's type name already: --help would print it twice
}

/// Adds `name VALUE`, read with `T::parse` into `target`.
template <class T>
CLI::Option* add_parsed(CLI::App& app, std::string const& name, T& target, std::string const& form,
                        std::string const& help)
{
    return app
        .add_option_function<std::string>(
            name, [&target](std::string const& text) { target = *T::parse(text); }, help)
        ->check(parses_as<T>(form))
        ->type_name(form);
}

/// Adds `name VALUE`, read with `T::parse` into `target`, which stays empty when the option is absent.
template <class T>
CLI::Option* add_parsed(CLI::App& app, std::string const& name, std::optional<T>& target, std::string const& form,
                        std::string const& help)
{
    return app
        .add_option_function<std::string>(
            name, [&target](std::string const& text) { target = T::parse(text); }, help)
        ->check(parses_as<T>(form))
        ->type_name(form);
}

/// Adds `name VALUE`, which may be repeated: each value is read with `T::parse` and kept in order.
template <class T>
CLI::Option* add_parsed(CLI::App& app, std::string const& name, std::vector<T>& target, std::string const& form,
                        std::string const& help)
{
    return app
        .add_option_function<std::vector<std::string>>(
            name,
            [&target](std::vector<std::string> const& texts) {
                target.clear();
                for (auto const& text : texts)
                    target.push_back(*T::parse(text));
            },
            help)
        ->check(parses_as<T>(form))
        ->type_name(form)
        ->allow_extra_args(false); // one value per occurrence: `--bootstrap A --bootstrap B`
}

} // namespace meshkit::tools

#endif // MESHKIT_TOOLS_COMMON_CLI_HPP

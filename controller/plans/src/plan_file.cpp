// Reading broadcast plans from TOML files into schedules::Plan, every problem with its place.
#include "loa/controller/plans/plan_file.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <optional>
#include <sstream>

#include <fmt/core.h>
#include <toml++/toml.h>

#include "loa/schedules/area_path.hpp"

namespace loa::controller {

std::string PlanFileProblem::text() const {
    std::string where = file;
    if (line > 0) {
        where += fmt::format(":{}", line);
        if (column > 0) {
            where += fmt::format(":{}", column);
        }
    }
    return where.empty() ? what : where + ": " + what;
}

namespace {

using schedules::AirtimePer;
using schedules::Area;
using schedules::Campaign;
using schedules::Date;
using schedules::Event;
using schedules::Item;
using schedules::ItemKind;
using schedules::Node;
using schedules::NodeKind;
using schedules::Origin;
using schedules::Plan;
using schedules::Priority;
using schedules::Quotas;
using schedules::Variant;
using schedules::Window;

using Keys = std::initializer_list<std::string_view>;

constexpr std::int64_t kSecondUs = 1'000'000;
constexpr std::int64_t kMinuteUs = 60 * kSecondUs;
constexpr int kDayMinutes = 24 * 60;
constexpr int kMaxNodeCount = 10'000;
constexpr std::array<std::string_view, 7> kWeekdays = {"mon", "tue", "wed", "thu",
                                                       "fri", "sat", "sun"};

constexpr const char* kTimeOfDay = "a time of day is HH:MM between 00:00 and 24:00";
constexpr const char* kDurationForm =
    "a duration is written like \"90s\", \"1m30s\", \"1h\" or \"2.5s\", or as a number of seconds";
constexpr const char* kDateForm = "a date is written 2026-12-31 (or \"2026-12-31\")";
constexpr const char* kShareForm = "a share is above 0 and at most 1: write e.g. 0.9 or \"90%\"";

std::string lowercase(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
        return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    });
    return out;
}

std::string_view trim(std::string_view text) {
    while (!text.empty() && text.front() == ' ') {
        text.remove_prefix(1);
    }
    while (!text.empty() && text.back() == ' ') {
        text.remove_suffix(1);
    }
    return text;
}

bool all_digits(std::string_view text) {
    return !text.empty() &&
           std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

int to_int(std::string_view digits) {
    int value = 0;
    std::from_chars(digits.data(), digits.data() + digits.size(), value);
    return value;
}

std::string in_quotes(std::string_view text) {
    std::string out = "\"";
    for (char c : text) {
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                out += c;
        }
    }
    return out + "\"";
}

// A value as it would be written in the file, for messages; long values are shortened.
std::string shown(const toml::node& node) {
    std::string out;
    if (const auto* s = node.as_string()) {
        out = in_quotes(s->get());
    } else {
        std::ostringstream os;
        node.visit([&](const auto& value) { os << value; });
        out = os.str();
        std::replace(out.begin(), out.end(), '\n', ' ');
    }
    constexpr std::size_t kLongest = 60;
    if (out.size() > kLongest) {
        std::size_t cut = kLongest - 3;
        while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xc0) == 0x80) {
            --cut;  // never cut a UTF-8 sequence
        }
        out = out.substr(0, cut) + "...";
    }
    return out;
}

const char* type_name(const toml::node& node) {
    switch (node.type()) {
        case toml::node_type::string:
            return "text";
        case toml::node_type::integer:
            return "a whole number";
        case toml::node_type::floating_point:
            return "a decimal number";
        case toml::node_type::boolean:
            return "true/false";
        case toml::node_type::date:
            return "a date";
        case toml::node_type::time:
            return "a time";
        case toml::node_type::date_time:
            return "a date and time";
        case toml::node_type::array:
            return "a list";
        case toml::node_type::table:
            return "a table";
        case toml::node_type::none:
            break;
    }
    return "nothing";
}

// "HH:MM" → minutes after midnight (00:00 … 24:00), or nothing when it is not a time of day.
std::optional<int> parse_clock(std::string_view text) {
    const auto colon = text.find(':');
    if (colon == std::string_view::npos) {
        return std::nullopt;
    }
    const auto hours = text.substr(0, colon);
    const auto minutes = text.substr(colon + 1);
    if (!all_digits(hours) || hours.size() > 2 || !all_digits(minutes) || minutes.size() != 2) {
        return std::nullopt;
    }
    const int h = to_int(hours);
    const int m = to_int(minutes);
    if (m > 59 || h * 60 + m > kDayMinutes) {
        return std::nullopt;
    }
    return h * 60 + m;
}

// "90s", "1m30s", "1h", "2.5s" → microseconds; the error says why not.
std::expected<std::int64_t, std::string> parse_duration_text(std::string_view text) {
    text = trim(text);
    if (text.starts_with('-')) {
        return std::unexpected("a duration cannot be negative");
    }
    if (text.empty()) {
        return std::unexpected(kDurationForm);
    }
    std::int64_t total = 0;
    int last_rank = -1;  // h, m, s in this order, each at most once
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t end = pos;
        while (end < text.size() && text[end] >= '0' && text[end] <= '9') {
            ++end;
        }
        const auto whole = text.substr(pos, end - pos);
        std::string_view fraction;
        if (end < text.size() && text[end] == '.') {
            std::size_t frac_end = end + 1;
            while (frac_end < text.size() && text[frac_end] >= '0' && text[frac_end] <= '9') {
                ++frac_end;
            }
            fraction = text.substr(end + 1, frac_end - end - 1);
            if (fraction.empty()) {
                return std::unexpected(kDurationForm);
            }
            end = frac_end;
        }
        if (whole.empty() || whole.size() > 9 || fraction.size() > 9 || end == text.size()) {
            return std::unexpected(kDurationForm);
        }
        int rank = 0;
        std::int64_t unit = 0;
        switch (text[end]) {
            case 'h':
                rank = 0;
                unit = 60 * kMinuteUs;
                break;
            case 'm':
                rank = 1;
                unit = kMinuteUs;
                break;
            case 's':
                rank = 2;
                unit = kSecondUs;
                break;
            default:
                return std::unexpected(kDurationForm);
        }
        if (rank <= last_rank) {
            return std::unexpected(kDurationForm);
        }
        last_rank = rank;
        std::int64_t whole_value = 0;
        std::from_chars(whole.data(), whole.data() + whole.size(), whole_value);
        total += whole_value * unit;
        if (!fraction.empty()) {
            std::int64_t digits = 0;
            std::from_chars(fraction.data(), fraction.data() + fraction.size(), digits);
            std::int64_t scale = 1;
            for (std::size_t i = 0; i < fraction.size(); ++i) {
                scale *= 10;
            }
            // digits < 10^9 and unit ≤ 3.6e9 µs: the product fits in 64 bits.
            total += (digits * unit + scale / 2) / scale;
        }
        pos = end + 1;
    }
    return total;
}

std::optional<NodeKind> node_kind(std::string_view text) {
    if (text == "speaker") {
        return NodeKind::speaker;
    }
    if (text == "panel") {
        return NodeKind::panel;
    }
    return std::nullopt;
}

// Reads one plan document, collecting every problem it finds on the way.
class PlanReader {
  public:
    explicit PlanReader(const std::string& source) : source_(source) {}

    std::expected<Plan, std::vector<PlanFileProblem>> read(std::string_view text) {
        toml::table root;
        try {
            root = toml::parse(text, source_);
        } catch (const toml::parse_error& e) {
            report(e.source(), fmt::format("not valid TOML: {}", e.description()));
            return std::unexpected(std::move(problems_));
        }
        Plan plan;
        known_keys(root, "the top level", {"areas", "nodes", "items", "events", "campaigns"});
        each_table(root, "areas", "areas", [&](const toml::table& t) { read_area(t, plan); });
        each_table(root, "nodes", "nodes", [&](const toml::table& t) { read_node(t, plan); });
        each_table(root, "items", "items", [&](const toml::table& t) { read_item(t, plan); });
        each_table(root, "events", "events", [&](const toml::table& t) { read_event(t, plan); });
        each_table(root, "campaigns", "campaigns",
                   [&](const toml::table& t) { read_campaign(t, plan); });
        if (!problems_.empty()) {
            std::stable_sort(problems_.begin(), problems_.end(),
                             [](const PlanFileProblem& a, const PlanFileProblem& b) {
                                 return std::pair(a.line, a.column) < std::pair(b.line, b.column);
                             });
            return std::unexpected(std::move(problems_));
        }
        return plan;
    }

  private:
    const std::string& source_;
    std::vector<PlanFileProblem> problems_;

    // --- reporting ------------------------------------------------------------------------

    void report(const toml::source_region& where, std::string what) {
        problems_.push_back({source_, static_cast<int>(where.begin.line),
                             static_cast<int>(where.begin.column), std::move(what)});
    }

    void bad(const toml::node& value, std::string_view key, std::string_view why) {
        report(value.source(), fmt::format("{} = {}: {}", key, shown(value), why));
    }

    void wrong_type(const toml::node& value, std::string_view key, std::string_view expected) {
        bad(value, key, fmt::format("expected {}, not {}", expected, type_name(value)));
    }

    static Origin origin(const toml::table& table) {
        return {static_cast<int>(table.source().begin.line)};
    }

    void known_keys(const toml::table& table, std::string_view where, Keys keys) {
        for (const auto& [key, value] : table) {
            if (std::find(keys.begin(), keys.end(), key.str()) != keys.end()) {
                continue;
            }
            std::string list;
            for (auto k : keys) {
                list += list.empty() ? "" : ", ";
                list += k;
            }
            report(key.source(), fmt::format("unknown key '{}' {} {}; known keys: {}", key.str(),
                                             where.starts_with('[') ? "in" : "at", where, list));
        }
    }

    // Reports `key` missing from a table, at the table's header.
    void require(const toml::table& table, std::string_view where, std::string_view key,
                 std::string_view meaning) {
        if (table.contains(key)) {
            return;
        }
        report(table.source(), fmt::format("missing key '{}' in {} ({})", key, where, meaning));
    }

    // Calls `read` on each table of the list of tables at `key` ([[name]]).
    template <typename Read>
    void each_table(const toml::table& parent, std::string_view key, std::string_view name,
                    Read&& read) {
        const toml::node* node = parent.get(key);
        if (node == nullptr) {
            return;
        }
        const toml::array* list = node->as_array();
        if (list == nullptr) {
            report(node->source(), fmt::format("'{}' is a list of tables: write each one as "
                                               "[[{}]] (double brackets), not {}",
                                               key, name, type_name(*node)));
            return;
        }
        for (const toml::node& element : *list) {
            if (const toml::table* table = element.as_table()) {
                read(*table);
            } else {
                report(element.source(),
                       fmt::format("'{}' holds tables, not {}: write each one as [[{}]] with "
                                   "its keys below it",
                                   key, type_name(element), name));
            }
        }
    }

    // --- typed values ---------------------------------------------------------------------

    std::optional<std::string> text(const toml::table& table, std::string_view key) {
        const toml::node* node = table.get(key);
        if (node == nullptr) {
            return std::nullopt;
        }
        if (const auto* s = node->as_string()) {
            return s->get();
        }
        wrong_type(*node, key, "text in double quotes");
        return std::nullopt;
    }

    std::optional<std::int64_t> integer(const toml::table& table, std::string_view key,
                                        std::int64_t low, std::int64_t high,
                                        std::string_view range) {
        const toml::node* node = table.get(key);
        if (node == nullptr) {
            return std::nullopt;
        }
        const auto* i = node->as_integer();
        if (i == nullptr) {
            wrong_type(*node, key, "a whole number");
            return std::nullopt;
        }
        if (i->get() < low || i->get() > high) {
            bad(*node, key, range);
            return std::nullopt;
        }
        return i->get();
    }

    std::optional<bool> boolean(const toml::table& table, std::string_view key) {
        const toml::node* node = table.get(key);
        if (node == nullptr) {
            return std::nullopt;
        }
        if (const auto* b = node->as_boolean()) {
            return b->get();
        }
        wrong_type(*node, key, "true or false");
        return std::nullopt;
    }

    // A list of texts; each wrong element is reported where it stands.
    std::optional<std::vector<std::string>> texts(const toml::table& table, std::string_view key,
                                                  std::string_view example) {
        const toml::node* node = table.get(key);
        if (node == nullptr) {
            return std::nullopt;
        }
        const toml::array* list = node->as_array();
        if (list == nullptr) {
            wrong_type(*node, key, fmt::format("a list such as {}", example));
            return std::nullopt;
        }
        std::vector<std::string> out;
        bool ok = true;
        for (const toml::node& element : *list) {
            if (const auto* s = element.as_string()) {
                out.push_back(s->get());
            } else {
                report(element.source(),
                       fmt::format("{}: {} is {}; expected a list of texts such as {}", key,
                                   shown(element), type_name(element), example));
                ok = false;
            }
        }
        return ok ? std::optional(std::move(out)) : std::nullopt;
    }

    // Area paths: each must be a well-formed path (whether it exists is check_plan's question).
    std::optional<std::vector<std::string>> paths(const toml::table& table, std::string_view key) {
        auto list = texts(table, key, "[\"vn/lao-cai\"]");
        if (!list) {
            return std::nullopt;
        }
        const toml::array& elements = *table.get(key)->as_array();
        bool ok = true;
        for (std::size_t i = 0; i < list->size(); ++i) {
            if (auto why = schedules::area_path_problem((*list)[i]); !why.empty()) {
                report(elements[i].source(), fmt::format("{}: {} is not an area path: {}", key,
                                                         in_quotes((*list)[i]), why));
                ok = false;
            }
        }
        return ok ? list : std::nullopt;
    }

    std::optional<std::string> path(const toml::table& table, std::string_view key) {
        auto value = text(table, key);
        if (!value) {
            return std::nullopt;
        }
        if (auto why = schedules::area_path_problem(*value); !why.empty()) {
            bad(*table.get(key), key, fmt::format("not an area path: {}", why));
            return std::nullopt;
        }
        return value;
    }

    // "HH:MM" (or a TOML local time with zero seconds) → minutes after midnight, ≤ `latest`.
    std::optional<int> clock(const toml::table& table, std::string_view key, int latest,
                             std::string_view too_late) {
        const toml::node* node = table.get(key);
        if (node == nullptr) {
            return std::nullopt;
        }
        std::optional<int> minute;
        if (const auto* s = node->as_string()) {
            minute = parse_clock(trim(s->get()));
        } else if (const auto* t = node->as_time()) {
            const toml::time& time = t->get();
            if (time.second == 0 && time.nanosecond == 0) {
                minute = time.hour * 60 + time.minute;
            }
        } else {
            wrong_type(*node, key, "a time of day in quotes, such as \"05:30\"");
            return std::nullopt;
        }
        if (!minute) {
            bad(*node, key, kTimeOfDay);
            return std::nullopt;
        }
        if (*minute > latest) {
            bad(*node, key, too_late);
            return std::nullopt;
        }
        return minute;
    }

    // A duration in microseconds: text ("1m30s") or a number of seconds; ≥ 0, > 0 if `positive`.
    std::optional<std::int64_t> duration(const toml::table& table, std::string_view key,
                                         bool positive) {
        const toml::node* node = table.get(key);
        if (node == nullptr) {
            return std::nullopt;
        }
        std::expected<std::int64_t, std::string> us = std::unexpected(kDurationForm);
        if (const auto* s = node->as_string()) {
            us = parse_duration_text(s->get());
        } else if (const auto* i = node->as_integer()) {
            if (i->get() < 0) {
                us = std::unexpected("a duration cannot be negative");
            } else if (i->get() <= 1'000'000'000) {
                us = i->get() * kSecondUs;
            }
        } else if (const auto* f = node->as_floating_point()) {
            if (f->get() < 0) {
                us = std::unexpected("a duration cannot be negative");
            } else if (std::isfinite(f->get()) && f->get() <= 1e9) {
                us = std::llround(f->get() * kSecondUs);
            }
        } else {
            wrong_type(*node, key, "a duration such as \"1m30s\" or a number of seconds");
            return std::nullopt;
        }
        if (!us) {
            bad(*node, key, us.error());
            return std::nullopt;
        }
        if (positive && *us <= 0) {
            bad(*node, key, "it must last more than zero seconds");
            return std::nullopt;
        }
        return *us;
    }

    // A share in (0, 1]: a number, or text "90%".
    std::optional<double> share(const toml::table& table, std::string_view key) {
        const toml::node* node = table.get(key);
        if (node == nullptr) {
            return std::nullopt;
        }
        std::optional<double> value;
        if (const auto* f = node->as_floating_point()) {
            value = f->get();
        } else if (const auto* i = node->as_integer()) {
            value = static_cast<double>(i->get());
        } else if (const auto* s = node->as_string()) {
            std::string_view t = trim(s->get());
            if (t.ends_with('%')) {
                t = trim(t.substr(0, t.size() - 1));
                double percent = 0;
                auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), percent);
                if (!t.empty() && ec == std::errc() && ptr == t.data() + t.size()) {
                    value = percent / 100.0;
                }
            }
        } else {
            wrong_type(*node, key, "a share such as 0.9 or \"90%\"");
            return std::nullopt;
        }
        if (!value || !(*value > 0.0 && *value <= 1.0)) {
            bad(*node, key, kShareForm);
            return std::nullopt;
        }
        return value;
    }

    // A TOML local date (2026-12-31) or the same as text.
    std::optional<Date> date(const toml::table& table, std::string_view key) {
        const toml::node* node = table.get(key);
        if (node == nullptr) {
            return std::nullopt;
        }
        std::optional<Date> value;
        if (const auto* d = node->as_date()) {
            const toml::date& v = d->get();
            value = Date{std::chrono::year(v.year), std::chrono::month(v.month),
                         std::chrono::day(v.day)};
        } else if (const auto* s = node->as_string()) {
            const std::string_view t = trim(s->get());
            if (t.size() == 10 && t[4] == '-' && t[7] == '-' && all_digits(t.substr(0, 4)) &&
                all_digits(t.substr(5, 2)) && all_digits(t.substr(8, 2))) {
                value = Date{std::chrono::year(to_int(t.substr(0, 4))),
                             std::chrono::month(static_cast<unsigned>(to_int(t.substr(5, 2)))),
                             std::chrono::day(static_cast<unsigned>(to_int(t.substr(8, 2))))};
            }
        } else {
            wrong_type(*node, key, "a date such as 2026-12-31");
            return std::nullopt;
        }
        if (!value) {
            bad(*node, key, kDateForm);
            return std::nullopt;
        }
        if (!value->ok()) {
            bad(*node, key, "no such date");
            return std::nullopt;
        }
        return value;
    }

    // ["mon", "wed-fri"] → bits, bit 0 = Monday.
    std::optional<std::uint8_t> weekdays(const toml::table& table, std::string_view key) {
        auto names = texts(table, key, "[\"mon\", \"tue\"] or [\"mon-fri\"]");
        if (!names) {
            return std::nullopt;
        }
        const toml::array& elements = *table.get(key)->as_array();
        auto day = [](std::string_view name) -> int {
            const auto it = std::find(kWeekdays.begin(), kWeekdays.end(), name);
            return it == kWeekdays.end() ? -1 : static_cast<int>(it - kWeekdays.begin());
        };
        std::uint8_t bits = 0;
        bool ok = true;
        for (std::size_t i = 0; i < names->size(); ++i) {
            const std::string name = lowercase(trim((*names)[i]));
            const auto dash = name.find('-');
            const int first = day(trim(std::string_view(name).substr(0, dash)));
            const int last = dash == std::string::npos
                                 ? first
                                 : day(trim(std::string_view(name).substr(dash + 1)));
            if (first < 0 || last < 0) {
                report(elements[i].source(),
                       fmt::format("{}: {} is not a weekday; write mon, tue, wed, thu, fri, sat, "
                                   "sun or a range such as \"mon-fri\"",
                                   key, in_quotes((*names)[i])));
                ok = false;
                continue;
            }
            for (int d = first;; d = (d + 1) % 7) {  // a range may wrap: "sat-mon"
                bits = static_cast<std::uint8_t>(bits | (1u << d));
                if (d == last) {
                    break;
                }
            }
        }
        return ok ? std::optional(bits) : std::nullopt;
    }

    std::optional<std::vector<NodeKind>> kinds(const toml::table& table, std::string_view key) {
        auto names = texts(table, key, "[\"speaker\"] or [\"panel\"]");
        if (!names) {
            return std::nullopt;
        }
        const toml::array& elements = *table.get(key)->as_array();
        std::vector<NodeKind> out;
        bool ok = true;
        for (std::size_t i = 0; i < names->size(); ++i) {
            if (auto kind = node_kind((*names)[i])) {
                out.push_back(*kind);
            } else {
                report(elements[i].source(),
                       fmt::format("{}: {} is not a node kind; expected \"speaker\" or \"panel\"",
                                   key, in_quotes((*names)[i])));
                ok = false;
            }
        }
        return ok ? std::optional(std::move(out)) : std::nullopt;
    }

    std::optional<std::string> media_hash(const toml::table& table, std::string_view key) {
        auto value = text(table, key);
        if (!value) {
            return std::nullopt;
        }
        const std::string hash = lowercase(*value);
        if (hash.size() != 64 || !std::all_of(hash.begin(), hash.end(), [](char c) {
                return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
            })) {
            bad(*table.get(key), key,
                "expected the SHA-256 content hash of imported media (64 hexadecimal digits)");
            return std::nullopt;
        }
        return hash;
    }

    // --- tables ---------------------------------------------------------------------------

    void read_area(const toml::table& t, Plan& plan) {
        known_keys(t, "[[areas]]",
                   {"path", "name", "level", "time_zone", "languages", "sessions_per_day",
                    "minutes_per_session", "days_per_week", "windows"});
        Area area;
        area.origin = origin(t);
        require(t, "[[areas]]", "path", "the area's place in the tree, e.g. \"vn/lao-cai\"");
        area.path = path(t, "path").value_or("");
        area.name = text(t, "name").value_or("");
        area.level = text(t, "level").value_or("");
        area.time_zone = text(t, "time_zone").value_or("");
        area.languages =
            texts(t, "languages", "[\"vi\", \"hmn\"]").value_or(std::vector<std::string>{});
        constexpr const char* kCap = "a cap is a whole number from 0 to 1440 (0 = no cap)";
        area.sessions_per_day = integer(t, "sessions_per_day", 0, kDayMinutes, kCap);
        area.minutes_per_session = integer(t, "minutes_per_session", 0, kDayMinutes, kCap);
        area.days_per_week =
            integer(t, "days_per_week", 0, 7, "days_per_week is between 0 and 7 (0 = no cap)");
        if (t.contains("windows")) {
            area.windows.emplace();
            each_table(t, "windows", "areas.windows",
                       [&](const toml::table& w) { area.windows->push_back(read_window(w)); });
        }
        plan.areas.push_back(std::move(area));
    }

    Window read_window(const toml::table& t) {
        constexpr std::string_view kWhere = "[[areas.windows]]";
        known_keys(t, kWhere, {"name", "start", "end", "weekdays", "from", "until", "kinds"});
        Window window;
        window.origin = origin(t);
        require(t, kWhere, "name", "campaigns choose windows by name, e.g. \"sang\"");
        require(t, kWhere, "start", "its local start time, e.g. \"05:30\"");
        require(t, kWhere, "end", "its local end time, e.g. \"06:30\"");
        window.name = text(t, "name").value_or("");
        window.start_minute =
            clock(t, "start", kDayMinutes - 1, "a window starts by 23:59 (24:00 is only an end)")
                .value_or(0);
        window.end_minute = clock(t, "end", kDayMinutes, kTimeOfDay).value_or(0);
        window.weekdays = weekdays(t, "weekdays").value_or(0x7f);
        window.first_date = date(t, "from");
        window.last_date = date(t, "until");
        window.kinds = kinds(t, "kinds").value_or(std::vector<NodeKind>{});
        return window;
    }

    void read_node(const toml::table& t, Plan& plan) {
        known_keys(t, "[[nodes]]", {"id", "area", "kind", "count"});
        Node node;
        node.origin = origin(t);
        require(t, "[[nodes]]", "id", "the node's identifier, e.g. \"ta-van-01\"");
        require(t, "[[nodes]]", "area", "the path of the area it serves");
        node.id = text(t, "id").value_or("");
        node.area = path(t, "area").value_or("");
        if (auto kind = text(t, "kind")) {
            if (auto k = node_kind(*kind)) {
                node.kind = *k;
            } else {
                bad(*t.get("kind"), "kind", "a node is a \"speaker\" or a \"panel\"");
            }
        }
        const auto count =
            integer(t, "count", 1, kMaxNodeCount,
                    fmt::format("count is the number of nodes declared, 1 to {}", kMaxNodeCount));
        if (!count) {
            plan.nodes.push_back(std::move(node));
            return;
        }
        const int width = std::max<int>(2, static_cast<int>(std::to_string(*count).size()));
        for (std::int64_t i = 1; i <= *count; ++i) {
            Node one = node;
            one.id = fmt::format("{}-{:0{}}", node.id, i, width);
            plan.nodes.push_back(std::move(one));
        }
    }

    void read_item(const toml::table& t, Plan& plan) {
        constexpr std::string_view kWhere = "[[items]]";
        known_keys(
            t, kWhere,
            {"id", "kind", "title", "language", "duration", "media", "url", "start", "variants"});
        Item item;
        item.origin = origin(t);
        require(t, kWhere, "id", "the item's identifier, e.g. \"bao-lu\"");
        require(t, kWhere, "duration", "how long one play of it lasts, e.g. \"1m30s\"");
        item.id = text(t, "id").value_or("");
        item.title = text(t, "title").value_or("");
        bool kind_known = true;
        if (auto kind = text(t, "kind")) {
            static constexpr std::array<std::pair<std::string_view, ItemKind>, 4> kKinds = {
                {{"audio", ItemKind::audio},
                 {"slide", ItemKind::slide},
                 {"video", ItemKind::video},
                 {"relay", ItemKind::relay}}};
            const auto it = std::find_if(kKinds.begin(), kKinds.end(),
                                         [&](const auto& k) { return k.first == *kind; });
            if (it != kKinds.end()) {
                item.kind = it->second;
            } else {
                bad(*t.get("kind"), "kind",
                    "an item is \"audio\", \"slide\", \"video\" or \"relay\"");
                kind_known = false;
            }
        }
        Variant own;
        own.language = text(t, "language").value_or(schedules::kDefaultLanguage);
        own.duration_us = duration(t, "duration", true).value_or(0);
        own.media = media_hash(t, "media").value_or("");
        item.variants.push_back(std::move(own));
        if (item.kind == ItemKind::relay) {
            require(t, kWhere, "url", "a relay needs the url of its upstream stream");
            require(t, kWhere, "start", "a relay plays at a fixed local time, e.g. \"06:00\"");
        } else if (kind_known) {
            for (std::string_view key : {"url", "start"}) {
                if (const toml::node* node = t.get(key)) {
                    bad(*node, key, "only a relay (kind = \"relay\") has a url and a start time");
                }
            }
        }
        if (item.kind == ItemKind::relay) {
            item.relay_url = text(t, "url").value_or("");
            item.relay_start_minute =
                clock(t, "start", kDayMinutes - 1, "a relay starts by 23:59").value_or(0);
        }
        each_table(t, "variants", "items.variants", [&](const toml::table& v) {
            constexpr std::string_view kVariant = "[[items.variants]]";
            known_keys(v, kVariant, {"language", "duration", "media"});
            require(v, kVariant, "language", "the language of this version, e.g. \"hmn\"");
            require(v, kVariant, "duration", "how long this version lasts");
            Variant variant;
            variant.language = text(v, "language").value_or("");
            variant.duration_us = duration(v, "duration", true).value_or(0);
            variant.media = media_hash(v, "media").value_or("");
            item.variants.push_back(std::move(variant));
        });
        plan.items.push_back(std::move(item));
    }

    void read_event(const toml::table& t, Plan& plan) {
        constexpr std::string_view kWhere = "[[events]]";
        known_keys(t, kWhere, {"id", "name", "lunar", "solar", "leap"});
        Event event;
        event.origin = origin(t);
        require(t, kWhere, "id", "the event's identifier, e.g. \"gio-to\"");
        event.id = text(t, "id").value_or("");
        event.name = text(t, "name").value_or("");
        const toml::node* lunar = t.get("lunar");
        const toml::node* solar = t.get("solar");
        if (lunar != nullptr && solar != nullptr) {
            const toml::node& later =
                lunar->source().begin < solar->source().begin ? *solar : *lunar;
            report(later.source(),
                   "an event has either a lunar or a solar date, not both (lunar and solar are "
                   "both set)");
        } else if (lunar == nullptr && solar == nullptr) {
            report(t.source(), fmt::format("missing key 'lunar' or 'solar' in {} (the event's "
                                           "day/month, e.g. lunar = \"10/3\")",
                                           kWhere));
        } else {
            event.lunar = lunar != nullptr;
            read_day_month(t, event.lunar ? "lunar" : "solar", event);
        }
        event.leap_month = boolean(t, "leap").value_or(false);
        if (event.leap_month && lunar == nullptr) {
            bad(*t.get("leap"), "leap", "only a lunar date can be in a leap month");
        }
        plan.events.push_back(std::move(event));
    }

    // "10/3" → day 10 of month 3, checked against the calendar's month lengths.
    void read_day_month(const toml::table& t, std::string_view key, Event& event) {
        auto value = text(t, key);
        if (!value) {
            return;
        }
        const std::string_view v = trim(*value);
        const auto slash = v.find('/');
        const auto day = v.substr(0, slash);
        const auto month =
            slash == std::string_view::npos ? std::string_view{} : v.substr(slash + 1);
        if (!all_digits(day) || !all_digits(month) || day.size() > 2 || month.size() > 2) {
            bad(*t.get(key), key, "a date is day/month, e.g. \"10/3\" for the 10th of month 3");
            return;
        }
        const int d = to_int(day);
        const int m = to_int(month);
        if (m < 1 || m > 12) {
            bad(*t.get(key), key, "the month is between 1 and 12 (write day/month)");
            return;
        }
        const bool exists =
            event.lunar
                ? d >= 1 && d <= 30
                : d >= 1 && std::chrono::month_day(std::chrono::month(m), std::chrono::day(d)).ok();
        if (!exists) {
            bad(*t.get(key), key,
                event.lunar ? "a lunar day is between 1 and 30 (write day/month)"
                            : "no such day in that month (write day/month)");
            return;
        }
        event.day = d;
        event.month = m;
    }

    void read_campaign(const toml::table& t, Plan& plan) {
        constexpr std::string_view kWhere = "[[campaigns]]";
        known_keys(t, kWhere,
                   {"id", "title", "owner", "priority", "areas", "kinds", "items", "windows",
                    "from", "until", "event", "days_before", "days_after", "quotas"});
        Campaign c;
        c.origin = origin(t);
        require(t, kWhere, "id", "the campaign's identifier, e.g. \"gio-to-2027\"");
        c.id = text(t, "id").value_or("");
        c.title = text(t, "title").value_or("");
        c.owner = text(t, "owner").value_or("");
        if (auto priority = text(t, "priority")) {
            if (*priority == "normal") {
                c.priority = Priority::normal;
            } else if (*priority == "priority") {
                c.priority = Priority::priority;
            } else if (*priority == "emergency") {
                bad(*t.get("priority"), "priority",
                    "emergencies are sent, not scheduled: they play at once on every targeted "
                    "node; a plan's campaigns are \"normal\" or \"priority\"");
            } else {
                bad(*t.get("priority"), "priority", "expected \"normal\" or \"priority\"");
            }
        }
        c.areas = paths(t, "areas").value_or(std::vector<std::string>{});
        c.node_kinds = kinds(t, "kinds").value_or(std::vector<NodeKind>{});
        c.items = texts(t, "items", "[\"bao-lu\"]").value_or(std::vector<std::string>{});
        c.windows =
            texts(t, "windows", "[\"sang\", \"chieu\"]").value_or(std::vector<std::string>{});
        c.period.first = date(t, "from");
        c.period.last = date(t, "until");
        c.period.event = text(t, "event").value_or("");
        constexpr const char* kDays = "a number of days between 0 and 366";
        c.period.days_before =
            static_cast<int>(integer(t, "days_before", 0, 366, kDays).value_or(0));
        c.period.days_after = static_cast<int>(integer(t, "days_after", 0, 366, kDays).value_or(0));
        if (!t.contains("event")) {
            for (std::string_view key : {"days_before", "days_after"}) {
                if (const toml::node* node = t.get(key)) {
                    bad(*node, key,
                        "only a period anchored to an event (event = \"…\") has days "
                        "before and after it");
                }
            }
        }
        if (const toml::node* quotas = t.get("quotas")) {
            if (const toml::table* q = quotas->as_table()) {
                c.quotas = read_quotas(*q);
            } else {
                wrong_type(*quotas, "quotas",
                           "a table: write [campaigns.quotas] with its keys below");
            }
        }
        plan.campaigns.push_back(std::move(c));
    }

    Quotas read_quotas(const toml::table& t) {
        known_keys(
            t, "[campaigns.quotas]",
            {"plays_per_day", "airtime", "airtime_per", "coverage", "share_max", "separation"});
        Quotas q;
        q.plays_per_day = static_cast<int>(
            integer(t, "plays_per_day", 0, kDayMinutes, "a number of plays from 0 to 1440")
                .value_or(0));
        q.airtime_us = duration(t, "airtime", false).value_or(0);
        if (auto per = text(t, "airtime_per")) {
            if (*per == "day") {
                q.airtime_per = AirtimePer::day;
            } else if (*per == "week") {
                q.airtime_per = AirtimePer::week;
            } else if (*per == "month") {
                q.airtime_per = AirtimePer::month;
            } else {
                bad(*t.get("airtime_per"), "airtime_per",
                    "expected \"day\", \"week\" (ISO week) or \"month\"");
            }
        }
        q.coverage = share(t, "coverage").value_or(1.0);
        q.share_max = share(t, "share_max").value_or(1.0);
        if (auto separation = duration(t, "separation", false)) {
            if (*separation % kMinuteUs != 0) {
                bad(*t.get("separation"), "separation",
                    "a separation is whole minutes, e.g. \"60m\" or \"1h\"");
            } else {
                q.separation_minutes = static_cast<int>(*separation / kMinuteUs);
            }
        }
        return q;
    }
};

}  // namespace

std::expected<schedules::Plan, std::vector<PlanFileProblem>> parse_plan(std::string_view text,
                                                                        const std::string& source) {
    return PlanReader(source).read(text);
}

std::expected<std::string, std::vector<PlanFileProblem>> read_plan_text(
    const std::filesystem::path& path) {
    auto fail = [&](std::string why) {
        return std::unexpected(std::vector<PlanFileProblem>{{path.string(), 0, 0, std::move(why)}});
    };
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
        return fail("cannot read the plan file: it is a directory");
    }
    const auto too_large = [&](std::string size) {
        return fail(fmt::format("the plan file is {} bytes, over the limit of {} bytes (16 MiB)",
                                size, kMaxPlanFileBytes));
    };
    if (const auto size = std::filesystem::file_size(path, ec); !ec && size > kMaxPlanFileBytes) {
        return too_large(std::to_string(size));
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return fail(fmt::format("cannot read the plan file: {}", std::strerror(errno)));
    }
    // Read in blocks up to the limit: a pipe or a device has no size to look at beforehand.
    std::string bytes;
    std::array<char, 64 * 1024> block;
    while (in.read(block.data(), block.size()) || in.gcount() > 0) {
        bytes.append(block.data(), static_cast<std::size_t>(in.gcount()));
        if (bytes.size() > kMaxPlanFileBytes) {
            return too_large("more than " + std::to_string(kMaxPlanFileBytes));
        }
    }
    if (in.bad()) {
        return fail(fmt::format("cannot read the plan file: {}", std::strerror(errno)));
    }
    return bytes;
}

std::expected<schedules::Plan, std::vector<PlanFileProblem>> read_plan_file(
    const std::filesystem::path& path) {
    auto text = read_plan_text(path);
    if (!text) {
        return std::unexpected(std::move(text.error()));
    }
    return parse_plan(*text, path.string());
}

}  // namespace loa::controller

// Plan files checked, compiled and shown: quota tables in Vietnamese or English, JSON, and the
// timeline files `loactl plan compile` writes.
#include "loa/controller/plans/plan_compilation.hpp"

#include <charconv>
#include <fstream>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "loa/controller/common/text_table.hpp"
#include "loa/controller/common/time_text.hpp"

namespace loa::controller {

namespace sch = loa::schedules;

std::expected<sch::Date, std::string> parse_date(std::string_view text) {
    int y = 0;
    unsigned m = 0, d = 0;
    auto number = [&](std::size_t at, std::size_t len, auto& out) {
        if (text.size() < at + len) {
            return false;
        }
        auto [end, ec] = std::from_chars(text.data() + at, text.data() + at + len, out);
        return ec == std::errc{} && end == text.data() + at + len;
    };
    if (text.size() != 10 || text[4] != '-' || text[7] != '-' || !number(0, 4, y) ||
        !number(5, 2, m) || !number(8, 2, d)) {
        return std::unexpected(fmt::format("'{}' is not a date: write YYYY-MM-DD", text));
    }
    const sch::Date date{std::chrono::year{y}, std::chrono::month{m}, std::chrono::day{d}};
    if (!date.ok()) {
        return std::unexpected(fmt::format("{} does not exist in the calendar", text));
    }
    return date;
}

std::expected<sch::CompiledPlan, std::vector<PlanFileProblem>> compile_plan_file(
    const std::filesystem::path& path, sch::Date from, int days) {
    auto plan = read_plan_file(path);
    if (!plan) {
        return std::unexpected(plan.error());
    }
    sch::PlanCompiler compiler;
    auto compiled = compiler.compile(*plan, {from, days});
    if (!compiled) {
        std::vector<PlanFileProblem> problems;
        for (const auto& p : compiled.error()) {
            problems.push_back({path.string(), p.line, 0, p.what});
        }
        return std::unexpected(std::move(problems));
    }
    return std::move(*compiled);
}

nlohmann::json quota_report_json(const sch::CompiledPlan& compiled) {
    nlohmann::json quotas = nlohmann::json::array();
    for (const auto& q : compiled.quotas) {
        nlohmann::json row{{"campaign", q.campaign},   {"quota", q.quota},
                           {"scope", q.scope},         {"period", q.period},
                           {"unit", q.unit},           {"required", q.required},
                           {"scheduled", q.scheduled}, {"met", q.met},
                           {"shortfall", q.shortfall}, {"nodes", q.nodes}};
        if (!q.reason.empty()) {
            row["reason"] = q.reason;
        }
        quotas.push_back(std::move(row));
    }
    return {{"feasible", compiled.feasible},
            {"quotas", std::move(quotas)},
            {"timelines", compiled.timelines.size()},
            {"nodes", compiled.node_timeline.size()}};
}

namespace {

std::string quota_name(const std::string& quota, Language language) {
    if (language == Language::en) {
        return quota;
    }
    if (quota == "plays_per_day")
        return "lượt/ngày";
    if (quota == "airtime")
        return "thời lượng";
    if (quota == "coverage")
        return "độ phủ";
    if (quota == "relay")
        return "tiếp sóng";
    return quota;
}

std::string unit_name(const std::string& unit, Language language) {
    if (language == Language::en) {
        return unit == "seconds" ? "s" : unit;
    }
    if (unit == "plays")
        return "lượt";
    if (unit == "seconds")
        return "giây";
    if (unit == "nodes")
        return "nút";
    return unit;
}

std::string scope_name(const std::string& scope, Language language) {
    if (language == Language::vi && scope == "all targeted nodes") {
        return "mọi nút được nhắm";
    }
    return scope;
}

}  // namespace

std::string render_quota_report(const sch::CompiledPlan& compiled, Language language) {
    const bool vi = language == Language::vi;
    std::vector<std::string> header =
        vi ? std::vector<std::string>{"Chiến dịch", "Chỉ tiêu", "Phạm vi", "Kỳ", "Đơn vị",
                                      "Yêu cầu",    "Đã xếp",   "Thiếu",   "Đạt"}
           : std::vector<std::string>{"Campaign", "Quota",     "Scope",     "Period", "Unit",
                                      "Required", "Scheduled", "Shortfall", "Met"};
    std::vector<std::vector<std::string>> rows;
    for (const auto& q : compiled.quotas) {
        rows.push_back({q.campaign, quota_name(q.quota, language), scope_name(q.scope, language),
                        q.period, unit_name(q.unit, language), std::to_string(q.required),
                        std::to_string(q.scheduled), std::to_string(q.shortfall),
                        q.met ? (vi ? "có" : "yes") : (vi ? "KHÔNG" : "NO")});
    }
    std::string out = compiled.feasible
                          ? (vi ? "Mọi chỉ tiêu đều đáp ứng được.\n" : "Every quota can be met.\n")
                          : (vi ? "Có chỉ tiêu không đáp ứng được (xem các dòng KHÔNG).\n"
                                : "Some quotas cannot be met (see the rows marked NO).\n");
    out += fmt::format(fmt::runtime(vi ? "{} nút, {} lịch phát riêng biệt.\n\n"
                                       : "{} nodes, {} distinct timelines.\n\n"),
                       compiled.node_timeline.size(), compiled.timelines.size());
    out += detail::render_text_table(header, rows, 5);
    for (const auto& q : compiled.quotas) {
        if (!q.met && !q.reason.empty()) {
            out += fmt::format("{} · {} · {}: {}\n", q.campaign, q.scope, q.period, q.reason);
        }
    }
    return out;
}

nlohmann::json timeline_json(const sch::Timeline& timeline) {
    nlohmann::json plays = nlohmann::json::array();
    for (const auto& p : timeline.plays) {
        static constexpr const char* kKinds[] = {"audio", "slide", "video", "relay"};
        nlohmann::json play{
            {"slot_id", p.slot_id},
            {"campaign", p.campaign},
            {"item", p.item},
            {"language", p.language},
            {"media", p.media},
            {"kind", kKinds[static_cast<int>(p.kind)]},
            {"priority", p.priority == sch::Priority::priority ? "priority" : "normal"},
            {"start", format_utc(p.start_us)},
            {"end", format_utc(p.end_us)},
            {"start_us", p.start_us},
            {"end_us", p.end_us}};
        if (!p.relay_url.empty()) {
            play["relay_url"] = p.relay_url;
        }
        plays.push_back(std::move(play));
    }
    return {{"hash", timeline.hash}, {"plays", std::move(plays)}};
}

namespace {

std::expected<void, std::string> write_json(const std::filesystem::path& path,
                                            const nlohmann::json& json) {
    const auto partial = path.string() + ".part";
    {
        std::ofstream out(partial, std::ios::binary | std::ios::trunc);
        out << json.dump(2) << "\n";
        if (!out.flush()) {
            return std::unexpected(fmt::format("cannot write {}", partial));
        }
    }
    std::error_code ec;
    std::filesystem::rename(partial, path, ec);
    if (ec) {
        return std::unexpected(fmt::format("cannot write {}: {}", path.string(), ec.message()));
    }
    return {};
}

}  // namespace

std::expected<void, std::string> write_compiled_plan(const sch::CompiledPlan& compiled,
                                                     sch::Date from, int days,
                                                     const std::filesystem::path& dir) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) {
        return std::unexpected(fmt::format("cannot create {}: {}", dir.string(), ec.message()));
    }
    nlohmann::json hashes = nlohmann::json::array();
    for (const auto& t : compiled.timelines) {
        if (auto written = write_json(dir / (t->hash + ".json"), timeline_json(*t)); !written) {
            return written;
        }
        hashes.push_back(t->hash);
    }
    nlohmann::json nodes = nlohmann::json::object();
    for (const auto& [node, index] : compiled.node_timeline) {
        nodes[node] = compiled.timelines[index]->hash;
    }
    return write_json(dir / "index.json", {{"from", date_text(from)},
                                           {"days", days},
                                           {"feasible", compiled.feasible},
                                           {"timelines", std::move(hashes)},
                                           {"nodes", std::move(nodes)}});
}

}  // namespace loa::controller

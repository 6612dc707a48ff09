// Parsing and formatting of the times operators type.
#include "loa/controller/common/time_text.hpp"

#include <charconv>
#include <chrono>

#include <fmt/core.h>

namespace loa::controller {

namespace {

constexpr std::int64_t kSecondUs = 1'000'000;

bool read_int(std::string_view text, std::size_t pos, std::size_t len, int& out) {
    if (pos + len > text.size()) {
        return false;
    }
    auto [ptr, ec] = std::from_chars(text.data() + pos, text.data() + pos + len, out);
    return ec == std::errc() && ptr == text.data() + pos + len;
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
std::int64_t days_from_civil(int y, int m, int d) {
    y -= m <= 2;
    const int era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return static_cast<std::int64_t>(era) * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool valid_date(int y, int m, int d) {
    if (y < 1970 || y > 9999 || m < 1 || m > 12 || d < 1) {
        return false;
    }
    static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return d <= kDays[m - 1] + (m == 2 && leap ? 1 : 0);
}

Result<std::int64_t> invalid(std::string_view text, std::string_view why) {
    return fail(Error::Code::invalid_input,
                fmt::format("'{}' is not a time: {} (write e.g. 2026-11-24T05:30:00+07:00, "
                            "2026-11-24 or now+20s)",
                            text, why));
}

}  // namespace

std::int64_t now_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

Result<std::int64_t> parse_duration(std::string_view text) {
    if (text.size() < 2) {
        return fail(Error::Code::invalid_input,
                    fmt::format("'{}' is not a duration (write e.g. 30s, 5m, 2h or 7d)", text));
    }
    std::int64_t unit = 0;
    switch (text.back()) {
        case 's':
            unit = kSecondUs;
            break;
        case 'm':
            unit = 60 * kSecondUs;
            break;
        case 'h':
            unit = 3600 * kSecondUs;
            break;
        case 'd':
            unit = 86400 * kSecondUs;
            break;
        default:
            break;
    }
    std::int64_t value = 0;
    auto body = text.substr(0, text.size() - 1);
    auto [ptr, ec] = std::from_chars(body.data(), body.data() + body.size(), value);
    if (unit == 0 || ec != std::errc() || ptr != body.data() + body.size() || value < 0 ||
        value > 3650LL * 86400) {
        return fail(Error::Code::invalid_input,
                    fmt::format("'{}' is not a duration (write e.g. 30s, 5m, 2h or 7d)", text));
    }
    return value * unit;
}

Result<std::int64_t> parse_instant(std::string_view text, std::int64_t now, bool end_of_day) {
    if (text.starts_with("now")) {
        auto rest = text.substr(3);
        if (rest.empty()) {
            return now;
        }
        if (rest[0] != '+' && rest[0] != '-') {
            return invalid(text, "after 'now' comes +N or -N with a unit");
        }
        auto duration = parse_duration(rest.substr(1));
        if (!duration) {
            return invalid(text, duration.error().message);
        }
        return rest[0] == '+' ? now + *duration : now - *duration;
    }
    int y = 0, mo = 0, d = 0;
    if (!read_int(text, 0, 4, y) || text.size() < 10 || text[4] != '-' ||
        !read_int(text, 5, 2, mo) || text[7] != '-' || !read_int(text, 8, 2, d)) {
        return invalid(text, "it does not start with a date YYYY-MM-DD");
    }
    if (!valid_date(y, mo, d)) {
        return invalid(text, "no such date");
    }
    std::int64_t midnight_utc = days_from_civil(y, mo, d) * 86400 * kSecondUs;
    if (text.size() == 10) {
        return midnight_utc - kVietnamOffsetUs + (end_of_day ? 86400 * kSecondUs : 0);
    }
    if (text[10] != 'T' && text[10] != ' ') {
        return invalid(text, "expected 'T' between date and time");
    }
    int h = 0, mi = 0, s = 0;
    if (!read_int(text, 11, 2, h) || text.size() < 16 || text[13] != ':' ||
        !read_int(text, 14, 2, mi)) {
        return invalid(text, "the time is not HH:MM");
    }
    std::size_t pos = 16;
    if (pos < text.size() && text[pos] == ':') {
        if (!read_int(text, 17, 2, s)) {
            return invalid(text, "the seconds are not SS");
        }
        pos = 19;
    }
    if (h > 23 || mi > 59 || s > 59) {
        return invalid(text, "hour, minute or second out of range");
    }
    std::int64_t offset = kVietnamOffsetUs;
    auto zone = text.substr(pos);
    if (zone == "Z") {
        offset = 0;
    } else if (!zone.empty()) {
        int oh = 0, om = 0;
        if (zone.size() != 6 || (zone[0] != '+' && zone[0] != '-') || !read_int(zone, 1, 2, oh) ||
            zone[3] != ':' || !read_int(zone, 4, 2, om) || oh > 14 || om > 59) {
            return invalid(text, "the zone is not Z or ±HH:MM");
        }
        offset = (oh * 3600LL + om * 60LL) * kSecondUs * (zone[0] == '-' ? -1 : 1);
    }
    return midnight_utc + (h * 3600LL + mi * 60LL + s) * kSecondUs - offset;
}

namespace {

/// ISO 8601 of an instant shifted by `offset_us`, with `suffix` naming the offset; milliseconds
/// are shown only when the instant has them.
std::string format_shifted(std::int64_t utc_us, std::int64_t offset_us, const char* suffix) {
    using namespace std::chrono;
    const sys_time<microseconds> t{microseconds{utc_us + offset_us}};
    const auto day = floor<days>(t);
    const year_month_day date{day};
    const hh_mm_ss time{floor<milliseconds>(t - day)};
    std::string text =
        fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", static_cast<int>(date.year()),
                    static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                    time.hours().count(), time.minutes().count(), time.seconds().count());
    if (time.subseconds().count() != 0) {
        text += fmt::format(".{:03}", time.subseconds().count());
    }
    return text + suffix;
}

}  // namespace

schedules::Date vietnam_date(std::int64_t utc_us) {
    using namespace std::chrono;
    return schedules::Date{
        floor<days>(sys_time<microseconds>{microseconds{utc_us + kVietnamOffsetUs}})};
}

std::string date_text(schedules::Date date) {
    return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(date.year()),
                       static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()));
}

std::int64_t vietnam_midnight_us(schedules::Date date) {
    using namespace std::chrono;
    return duration_cast<microseconds>(sys_days{date}.time_since_epoch()).count() -
           kVietnamOffsetUs;
}

std::string format_local(std::int64_t utc_us) {
    return format_shifted(utc_us, kVietnamOffsetUs, "+07:00");
}

std::string format_utc(std::int64_t utc_us) {
    return format_shifted(utc_us, 0, "Z");
}

}  // namespace loa::controller

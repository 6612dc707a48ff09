// Broadcast sessions: an area's windows on real dates in its time zone, caps applied.
#include <algorithm>

#include <date/tz.h>

#include "engine.hpp"

namespace loa::schedules::detail {

int day_number(Date date) {
    return static_cast<int>(std::chrono::sys_days{date}.time_since_epoch().count());
}

Date date_of(int day) {
    return Date{std::chrono::sys_days{std::chrono::days{day}}};
}

int weekday_index(int day) {
    // 1970-01-01 was a Thursday (index 3).
    return ((day % 7) + 7 + 3) % 7;
}

std::string date_text(int day) {
    Date d = date_of(day);
    char text[32];
    std::snprintf(text, sizeof text, "%04d-%02u-%02u", static_cast<int>(d.year()),
                  static_cast<unsigned>(d.month()), static_cast<unsigned>(d.day()));
    return text;
}

std::pair<int, int> extended_range(int from_day, int last_day) {
    const Date first = date_of(from_day);
    const Date last = date_of(last_day);
    const int month_first = day_number(Date{first.year(), first.month(), std::chrono::day{1}});
    const int month_last = day_number(
        std::chrono::year_month_day_last{last.year(), std::chrono::month_day_last{last.month()}});
    return {std::min(from_day - weekday_index(from_day), month_first),
            std::max(last_day + 6 - weekday_index(last_day), month_last)};
}

Micros local_to_utc(const date::time_zone& zone, int day, int minute) {
    day += minute / (24 * 60);
    minute %= 24 * 60;
    const date::local_seconds local{date::days{day} + std::chrono::minutes{minute}};
    const auto info = zone.get_info(local);
    date::sys_seconds utc;
    if (info.result == date::local_info::nonexistent) {
        utc = info.first.end;  // the moment the clocks jump over this time
    } else {
        utc = date::sys_seconds{local.time_since_epoch() - info.first.offset};
    }
    return std::chrono::duration_cast<std::chrono::microseconds>(utc.time_since_epoch()).count();
}

namespace {

bool window_applies(const Window& w, NodeKind kind, int day) {
    if ((w.weekdays & (1u << weekday_index(day))) == 0) {
        return false;
    }
    if (w.first_date && day < day_number(*w.first_date)) {
        return false;
    }
    if (w.last_date && day > day_number(*w.last_date)) {
        return false;
    }
    return w.kinds.empty() || std::find(w.kinds.begin(), w.kinds.end(), kind) != w.kinds.end();
}

}  // namespace

std::vector<Session> broadcast_sessions(const ResolvedArea& area, NodeKind kind, int first_day,
                                        int last_day) {
    // Caps regulate loudspeakers; a silent panel shows content through its windows uncapped.
    const Caps caps = kind == NodeKind::speaker ? area.caps : Caps{};
    std::vector<const Window*> windows;
    for (const auto& w : area.windows) {
        windows.push_back(&w);
    }
    std::sort(windows.begin(), windows.end(), [](const Window* a, const Window* b) {
        return std::tie(a->start_minute, a->end_minute, a->name) <
               std::tie(b->start_minute, b->end_minute, b->name);
    });

    // Days-per-week caps judge whole ISO weeks, so a horizon starting mid-week sees the same
    // broadcast days as one starting on Monday.
    const int week_first = first_day - weekday_index(first_day);
    const int week_last = last_day + 6 - weekday_index(last_day);
    std::vector<Session> sessions;
    int broadcast_days_this_week = 0;
    for (int day = week_first; day <= week_last; ++day) {
        if (weekday_index(day) == 0) {
            broadcast_days_this_week = 0;
        }
        std::vector<const Window*> today;
        for (const Window* w : windows) {
            if (window_applies(*w, kind, day)) {
                today.push_back(w);
            }
        }
        if (caps.sessions_per_day > 0 &&
            today.size() > static_cast<std::size_t>(caps.sessions_per_day)) {
            today.resize(static_cast<std::size_t>(caps.sessions_per_day));
        }
        if (today.empty()) {
            continue;
        }
        if (caps.days_per_week > 0 && broadcast_days_this_week >= caps.days_per_week) {
            continue;
        }
        ++broadcast_days_this_week;
        if (day < first_day || day > last_day) {
            continue;
        }
        for (const Window* w : today) {
            Session s;
            s.day = day;
            s.window = w->name;
            s.start_us = local_to_utc(*area.zone, day, w->start_minute);
            s.end_us = local_to_utc(*area.zone, day, w->end_minute);
            if (caps.minutes_per_session > 0) {
                s.end_us = std::min(s.end_us, s.start_us + caps.minutes_per_session * kMinute);
            }
            if (s.end_us > s.start_us) {
                sessions.push_back(std::move(s));
            }
        }
    }
    std::sort(sessions.begin(), sessions.end(), [](const Session& a, const Session& b) {
        return std::tie(a.start_us, a.window) < std::tie(b.start_us, b.window);
    });
    return sessions;
}

}  // namespace loa::schedules::detail

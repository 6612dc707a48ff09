// The broadcast plan the engine schedules: areas, nodes, windows, caps, items, campaigns, events.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace loa::schedules {

/// A civil date without a zone ("2026-11-23" wherever it is read).
using Date = std::chrono::year_month_day;

/// Where a plan element was declared (file line), so errors can point at it. 0 when unknown.
struct Origin {
    int line = 0;
};

enum class NodeKind { speaker, panel };

/// A broadcast window (buổi phát): local clock times on chosen weekdays, optionally dated.
struct Window {
    std::string name;              ///< "sang", "chieu" …; campaigns allow windows by name
    int start_minute = 0;          ///< local minutes after midnight, 0..1439
    int end_minute = 0;            ///< exclusive, start < end ≤ 1440 (no window crosses midnight)
    std::uint8_t weekdays = 0x7f;  ///< bit 0 = Monday … bit 6 = Sunday
    std::optional<Date> first_date;  ///< inclusive
    std::optional<Date> last_date;   ///< inclusive
    std::vector<NodeKind> kinds;     ///< node kinds it applies to; empty: all
    Origin origin;
};

/// Local regulation on loudspeaker airtime (e.g. Hà Nội urban wards: 2 sessions/day, 15 min,
/// 5 days/week). 0 means "no cap". Caps always win over quotas; silent panels are not capped.
struct Caps {
    int sessions_per_day = 0;
    int minutes_per_session = 0;
    int days_per_week = 0;
};

/// A node of the area tree. Children inherit time zone, languages, windows and caps unless
/// they set their own (a field left empty / unset inherits; caps inherit field by field).
struct Area {
    std::string path;   ///< "vn/lao-cai/sa-pa/ta-van"; the parent is the path minus its last part
    std::string name;   ///< display name, UTF-8 ("Tả Van")
    std::string level;  ///< "province", "commune" … (free text: levels are configurable)
    std::string time_zone;               ///< IANA name; empty inherits (root: Asia/Ho_Chi_Minh)
    std::vector<std::string> languages;  ///< in broadcast order; empty inherits (root: vi)
    std::optional<std::vector<Window>> windows;  ///< unset inherits; set (even empty) replaces
    std::optional<int> sessions_per_day;
    std::optional<int> minutes_per_session;
    std::optional<int> days_per_week;
    Origin origin;
};

/// A stretch of UTC time, microseconds, end exclusive.
struct Interval {
    std::int64_t start_us = 0;
    std::int64_t end_us = 0;
    friend bool operator==(const Interval&, const Interval&) = default;
};

struct Node {
    std::string id;
    std::string area;  ///< an area path of the plan
    NodeKind kind = NodeKind::speaker;
    std::vector<Interval> busy;  ///< plays already booked on it: new plays keep clear of them
    Origin origin;
};

enum class ItemKind { audio, slide, video, relay };

/// True when a node of `node` kind can play items of `item` kind.
bool can_play(NodeKind node, ItemKind item);

/// One language version of an item's media.
struct Variant {
    std::string language;
    std::string media;  ///< content hash of the media, or empty for a relay
    std::int64_t duration_us = 0;
};

/// A bulletin, slide, video or relay. `variants` holds at least one version; on a node whose
/// area speaks several languages one play is the variants of each of them back to back.
struct Item {
    std::string id;
    std::string title;
    ItemKind kind = ItemKind::audio;
    std::vector<Variant> variants;  ///< the first is the item's own language
    std::string relay_url;          ///< relay only: the upstream stream
    int relay_start_minute = 0;     ///< relay only: local start time
    Origin origin;
};

/// A yearly commemoration on a solar or a lunar date.
struct Event {
    std::string id;
    std::string name;
    bool lunar = false;
    int month = 0;
    int day = 0;
    bool leap_month = false;  ///< lunar only
    Origin origin;
};

enum class Priority { normal, priority };

/// A campaign's period: fixed dates, or anchored on each occurrence of an event.
struct Period {
    std::optional<Date> first;  ///< fixed period, inclusive
    std::optional<Date> last;
    std::string event;  ///< anchored period: the event id
    int days_before = 0;
    int days_after = 0;
};

enum class AirtimePer { day, week, month };

/// What the campaign promises each targeted node. Zero/unset fields ask nothing.
struct Quotas {
    int plays_per_day = 0;                      ///< at least this many plays each broadcast day
    std::int64_t airtime_us = 0;                ///< at least this much airtime …
    AirtimePer airtime_per = AirtimePer::week;  ///< … per day, ISO week or month
    double coverage = 1.0;                      ///< share of targeted nodes that must meet them
    double share_max = 1.0;                     ///< at most this share of any session's time
    int separation_minutes = 0;  ///< the same item not twice within this many minutes
};

struct Campaign {
    std::string id;
    std::string title;
    std::string owner;  ///< the agency ("Sở VHTTDL Lào Cai")
    Priority priority = Priority::normal;
    Period period;
    std::vector<std::string> areas;    ///< target area paths (their subtrees)
    std::vector<NodeKind> node_kinds;  ///< empty: every kind that can play one of the items
    std::vector<std::string> items;    ///< item ids, in rotation order
    std::vector<std::string> windows;  ///< allowed window names; empty: all
    std::optional<Interval> between;   ///< a one-off booking: its plays lie inside this
    Quotas quotas;
    Origin origin;
};

/// Everything the engine needs. Campaign order is booking order (earlier first).
struct Plan {
    std::vector<Area> areas;
    std::vector<Node> nodes;
    std::vector<Item> items;
    std::vector<Event> events;
    std::vector<Campaign> campaigns;
};

inline constexpr const char* kDefaultTimeZone = "Asia/Ho_Chi_Minh";
inline constexpr const char* kDefaultLanguage = "vi";

}  // namespace loa::schedules

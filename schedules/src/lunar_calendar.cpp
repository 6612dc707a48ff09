// The Vietnamese lunar calendar from astronomy: new moons, solar terms and leap months at UTC+7.
//
// The method is Hồ Ngọc Đức's ("Âm lịch Việt Nam"), itself built on Jean Meeus' "Astronomical
// Algorithms":
//  - a lunar month starts on the local (UTC+7) day of a true new moon;
//  - month 11 is the month holding the winter solstice (the sun at 270°);
//  - between two months 11 there are 12 or 13 months; with 13, the first month after month 11
//    whose days hold no major solar term (trung khí, the sun crossing a multiple of 30°) is a
//    leap month and repeats the number of the month before it.
// Every function here is pure; nothing is cached, each call recomputes the few new moons it needs.
#include "loa/schedules/lunar_calendar.hpp"

#include <array>
#include <cmath>
#include <cstdint>
#include <numbers>

namespace loa::schedules {

namespace {

using std::chrono::days;
using std::chrono::sys_days;
using std::chrono::year_month_day;

/// A Julian day number: a count of days (2440588 is 1970-01-01), here of UTC+7 civil days.
using DayNumber = std::int64_t;
/// An index of new moons (lunations); 0 is the new moon of 1900-01-01, about 13:51 UT.
using Lunation = std::int64_t;

constexpr double kPi = std::numbers::pi;
constexpr double kRadiansPerDegree = kPi / 180.0;
/// Vietnam's calendar time zone (UTC+7) as a fraction of a day.
constexpr double kTimeZoneDays = 7.0 / 24.0;
/// The mean length of a lunation, in days.
constexpr double kSynodicMonth = 29.530588853;
/// Julian date (UT) of lunation 0, so that lunation k lies near kLunationZero + k·kSynodicMonth.
constexpr double kLunationZero = 2415021.076998695;
/// Julian day number of 1970-01-01, the epoch of std::chrono::sys_days.
constexpr DayNumber kUnixEpochDayNumber = 2440588;
/// Julian date of the J2000.0 epoch (2000-01-01 12:00 TT), the origin of the sun's series.
constexpr double kJ2000 = 2451545.0;
/// Days in a Julian century, the time unit of the sun's series.
constexpr double kDaysPerJulianCentury = 36525.0;
/// Lunations in a Julian century, the time unit of the new moon series.
constexpr double kLunationsPerCentury = 1236.85;
/// The sun's path is cut into 12 sectors of 30°; sector 0 starts at the March equinox, and
/// entering a sector is a major solar term. Sector 9 starts at the winter solstice (270°).
constexpr double kSectorRadians = kPi / 6.0;
constexpr int kWinterSolsticeSector = 9;
/// A lunar month lasts 29 or 30 days.
constexpr int kLongMonth = 30;

DayNumber to_day_number(year_month_day date) {
    return sys_days{date}.time_since_epoch().count() + kUnixEpochDayNumber;
}

year_month_day from_day_number(DayNumber day) {
    return year_month_day{sys_days{days{day - kUnixEpochDayNumber}}};
}

double sin_degrees(double degrees) {
    return std::sin(degrees * kRadiansPerDegree);
}

/// A periodic term of the true new moon: coefficient (days) × sin(a·M + b·M′ + c·F), with M the
/// sun's mean anomaly, M′ the moon's and F the moon's argument of latitude.
struct NewMoonTerm {
    double coefficient;
    int m;
    int m_prime;
    int f;
};

/// Meeus' terms for the true new moon, but the first (sin M), whose coefficient drifts with time.
constexpr std::array<NewMoonTerm, 12> kNewMoonTerms{{
    {0.0021, 2, 0, 0},
    {-0.4068, 0, 1, 0},
    {0.0161, 0, 2, 0},
    {-0.0004, 0, 3, 0},
    {0.0104, 0, 0, 2},
    {-0.0051, 1, 1, 0},
    {-0.0074, 1, -1, 0},
    {0.0004, 1, 0, 2},
    {-0.0004, -1, 0, 2},
    {-0.0006, 0, 1, 2},
    {0.0010, 0, -1, 2},
    {0.0005, 1, 2, 0},
}};

/// Julian date (UT) of the true new moon of lunation k: Meeus' mean new moon plus the main
/// periodic terms (good to a few minutes), minus ΔT (dynamical minus universal time).
double new_moon(Lunation k) {
    const double kd = static_cast<double>(k);
    const double t = kd / kLunationsPerCentury;  // Julian centuries since 1900-01-00.5
    const double t2 = t * t;
    const double t3 = t2 * t;
    // The mean new moon, in dynamical time.
    double jd = 2415020.75933 + 29.53058868 * kd + 0.0001178 * t2 - 0.000000155 * t3;
    jd += 0.00033 * sin_degrees(166.56 + 132.87 * t - 0.009173 * t2);
    // The sun's mean anomaly, the moon's mean anomaly and the moon's argument of latitude.
    const double m = 359.2242 + 29.10535608 * kd - 0.0000333 * t2 - 0.00000347 * t3;
    const double m_prime = 306.0253 + 385.81691806 * kd + 0.0107306 * t2 + 0.00001236 * t3;
    const double f = 21.2964 + 390.67050646 * kd - 0.0016528 * t2 - 0.00000239 * t3;
    // The periodic terms move the true new moon up to ~14 hours off the mean one.
    double correction = (0.1734 - 0.000393 * t) * sin_degrees(m);
    for (const NewMoonTerm& term : kNewMoonTerms) {
        correction +=
            term.coefficient * sin_degrees(term.m * m + term.m_prime * m_prime + term.f * f);
    }
    // ΔT in days, Hồ Ngọc Đức's polynomial fit for dates after about 800 CE (t >= -11).
    const double delta_t = -0.000278 + 0.000265 * t + 0.000262 * t2;
    return jd + correction - delta_t;
}

/// The UTC+7 day on which lunation k falls: the first day of a lunar month.
DayNumber new_moon_day(Lunation k) {
    // A Julian date turns into a day number at noon; the +0.5 moves that to midnight.
    return static_cast<DayNumber>(std::floor(new_moon(k) + 0.5 + kTimeZoneDays));
}

/// The sun's true geometric longitude, radians in [0, 2π), at Julian date `jd` (Meeus'
/// low-precision series: the mean longitude plus the equation of centre).
double sun_longitude(double jd) {
    const double t = (jd - kJ2000) / kDaysPerJulianCentury;
    const double t2 = t * t;
    const double mean_anomaly = 357.52910 + 35999.05030 * t - 0.0001559 * t2 - 0.00000048 * t * t2;
    const double mean_longitude = 280.46645 + 36000.76983 * t + 0.0003032 * t2;
    const double centre = (1.914600 - 0.004817 * t - 0.000014 * t2) * sin_degrees(mean_anomaly) +
                          (0.019993 - 0.000101 * t) * sin_degrees(2 * mean_anomaly) +
                          0.000290 * sin_degrees(3 * mean_anomaly);
    const double radians = (mean_longitude + centre) * kRadiansPerDegree;
    return radians - 2 * kPi * std::floor(radians / (2 * kPi));
}

/// The 30° sector (0..11) the sun is in at the local midnight that starts `day`. A month holds a
/// major solar term exactly when the sector at its first midnight differs from the next month's.
int sun_sector(DayNumber day) {
    const double local_midnight = static_cast<double>(day) - 0.5 - kTimeZoneDays;
    return static_cast<int>(sun_longitude(local_midnight) / kSectorRadians);
}

/// The lunation that starts the lunar month holding `day`.
Lunation lunation_of_day(DayNumber day) {
    auto k = static_cast<Lunation>(
        std::floor((static_cast<double>(day) - kLunationZero) / kSynodicMonth));
    // The estimate uses the mean month; the true new moon can be up to a day either side.
    while (new_moon_day(k) > day) {
        --k;
    }
    while (new_moon_day(k + 1) <= day) {
        ++k;
    }
    return k;
}

/// The lunation that starts month 11, the month holding the winter solstice of `solar_year`.
Lunation month_eleven(int solar_year) {
    const DayNumber new_years_eve =
        to_day_number(std::chrono::year{solar_year} / std::chrono::December / 31);
    // If the month holding 31 December began with the sun already past 270°, the solstice
    // (~21 December) fell in the month before, which is then month 11.
    const Lunation k = lunation_of_day(new_years_eve);
    return sun_sector(new_moon_day(k)) >= kWinterSolsticeSector ? k - 1 : k;
}

/// The months from month 11 of one solar year up to (excluding) month 11 of the next: the span
/// in which at most one leap month is inserted.
struct Span {
    int solar_year = 0;    ///< the year of the opening month 11
    Lunation first = 0;    ///< lunation of the opening month 11
    int months = 12;       ///< 12, or 13 with a leap month
    int leap_offset = -1;  ///< the leap month's position counted from month 11 (1..12), or -1
};

/// The span from month 11 of `solar_year` (lunation `first`) to the next month 11 (lunation
/// `next_first`), with its leap month found.
Span make_span(int solar_year, Lunation first, Lunation next_first) {
    Span span;
    span.solar_year = solar_year;
    span.first = first;
    span.months = static_cast<int>(next_first - first);
    if (span.months == 13) {
        // 13 months share 12 major terms, so some month lacks one; the first is the leap month.
        int sector = sun_sector(new_moon_day(span.first + 1));
        for (int offset = 1; offset < span.months; ++offset) {
            const int following = sun_sector(new_moon_day(span.first + offset + 1));
            if (following == sector) {
                span.leap_offset = offset;
                break;
            }
            sector = following;
        }
    }
    return span;
}

Span span_from_month_eleven(int solar_year) {
    return make_span(solar_year, month_eleven(solar_year), month_eleven(solar_year + 1));
}

/// A month's place in the lunar calendar: its number, leap flag and lunar year.
struct MonthLabel {
    int year = 0;
    int month = 0;
    bool leap = false;
};

/// The label of the month `offset` months after the span's opening month 11.
MonthLabel label_of(const Span& span, int offset) {
    const bool after_leap = span.leap_offset >= 0 && offset >= span.leap_offset;
    const int counted = after_leap ? offset - 1 : offset;  // months with their own number
    MonthLabel label;
    label.month = (10 + counted) % 12 + 1;  // 11, 12, 1, 2, …
    label.leap = offset == span.leap_offset;
    // Months 11 and 12 (and a leap repeat of either) close the lunar year named by the span's
    // year; from month 1 on the next lunar year has begun.
    label.year = counted <= 1 ? span.solar_year : span.solar_year + 1;
    return label;
}

/// The position in `span` of a month number (1..12), or -1 when the span lacks that leap month.
int offset_of(const Span& span, int month, bool leap) {
    const int counted = (month + 1) % 12;  // 11 → 0, 12 → 1, 1 → 2, …, 10 → 11
    if (span.leap_offset < 0) {
        return leap ? -1 : counted;
    }
    const int leap_number = label_of(span, span.leap_offset).month;
    if (leap) {
        return month == leap_number ? span.leap_offset : -1;
    }
    return counted >= span.leap_offset ? counted + 1 : counted;
}

/// The span holding the months numbered `month` of `lunar_year`: months 11 and 12 open at the
/// year's own month 11, months 1..10 at the previous year's.
Span span_holding(int lunar_year, int month) {
    return span_from_month_eleven(month >= 11 ? lunar_year : lunar_year - 1);
}

int month_length_at(Lunation k) {
    return static_cast<int>(new_moon_day(k + 1) - new_moon_day(k));
}

bool supported_year(int lunar_year) {
    return lunar_year >= kFirstLunarYear && lunar_year <= kLastLunarYear;
}

std::string two_digits(unsigned value) {
    return (value < 10 ? "0" : "") + std::to_string(value);
}

std::string iso_date(year_month_day date) {
    return std::to_string(static_cast<int>(date.year())) + "-" +
           two_digits(static_cast<unsigned>(date.month())) + "-" +
           two_digits(static_cast<unsigned>(date.day()));
}

std::string lunar_text(const LunarDate& date) {
    return std::to_string(date.day) + "/" + std::to_string(date.month) +
           (date.leap ? " (leap)" : "") + "/" + std::to_string(date.year);
}

std::string supported_range_text() {
    return "lunar years " + std::to_string(kFirstLunarYear) + ".." + std::to_string(kLastLunarYear);
}

}  // namespace

std::expected<year_month_day, std::string> lunar_to_solar(const LunarDate& date) {
    if (!supported_year(date.year)) {
        return std::unexpected("lunar year " + std::to_string(date.year) +
                               " is outside the supported " + supported_range_text());
    }
    if (date.month < 1 || date.month > 12) {
        return std::unexpected("lunar month " + std::to_string(date.month) +
                               " does not exist: months are numbered 1..12");
    }
    if (date.day < 1 || date.day > kLongMonth) {
        return std::unexpected("lunar day " + std::to_string(date.day) +
                               " does not exist: months have 29 or 30 days, numbered from 1");
    }
    const Span span = span_holding(date.year, date.month);
    const int offset = offset_of(span, date.month, date.leap);
    if (offset < 0) {
        const int actual = leap_month(date.year);
        return std::unexpected(std::to_string(date.year) + " has no leap month " +
                               std::to_string(date.month) + " (its leap month: " +
                               (actual == 0 ? std::string("none") : std::to_string(actual)) + ")");
    }
    const Lunation k = span.first + offset;
    const DayNumber month_start = new_moon_day(k);
    const int length = static_cast<int>(new_moon_day(k + 1) - month_start);
    if (date.day > length) {
        return std::unexpected("lunar " + lunar_text(date) + " does not exist: that month has " +
                               std::to_string(length) + " days");
    }
    return from_day_number(month_start + date.day - 1);
}

std::expected<LunarDate, std::string> solar_to_lunar(year_month_day date) {
    if (!date.ok()) {
        return std::unexpected("not a valid solar date: " + iso_date(date));
    }
    const int solar_year = static_cast<int>(date.year());
    // A lunar year runs from late January/February to the next, so its solar years are itself
    // and the next one; anything further out cannot be in range (and is not computed).
    const auto out_of_range = [&] {
        return std::unexpected("solar date " + iso_date(date) + " is outside the supported " +
                               supported_range_text());
    };
    if (solar_year < kFirstLunarYear || solar_year > kLastLunarYear + 1) {
        return out_of_range();
    }
    const DayNumber day = to_day_number(date);
    const Lunation k = lunation_of_day(day);
    // The span opening at this solar year's month 11 or, for the days before it (most of the
    // year), the one opening at the previous year's and closing there.
    const Lunation this_eleven = month_eleven(solar_year);
    const Span span = k < this_eleven
                          ? make_span(solar_year - 1, month_eleven(solar_year - 1), this_eleven)
                          : make_span(solar_year, this_eleven, month_eleven(solar_year + 1));
    const MonthLabel label = label_of(span, static_cast<int>(k - span.first));
    if (!supported_year(label.year)) {
        return out_of_range();
    }
    return LunarDate{label.year, label.month, static_cast<int>(day - new_moon_day(k)) + 1,
                     label.leap};
}

int leap_month(int lunar_year) {
    if (!supported_year(lunar_year)) {
        return 0;
    }
    // A leap month of months 1..10 sits in the span opening at the previous year's month 11;
    // a leap 11 or 12 in the span opening at this year's. Two consecutive spans cannot both
    // have 13 months (26 lunations exceed two solar years), so at most one of them answers.
    for (int opening : {lunar_year - 1, lunar_year}) {
        const Span span = span_from_month_eleven(opening);
        if (span.leap_offset >= 0) {
            const MonthLabel label = label_of(span, span.leap_offset);
            if (label.year == lunar_year) {
                return label.month;
            }
        }
    }
    return 0;
}

int lunar_month_length(int lunar_year, int month, bool leap) {
    if (!supported_year(lunar_year) || month < 1 || month > 12) {
        return 0;
    }
    const Span span = span_holding(lunar_year, month);
    const int offset = offset_of(span, month, leap);
    return offset < 0 ? 0 : month_length_at(span.first + offset);
}

}  // namespace loa::schedules

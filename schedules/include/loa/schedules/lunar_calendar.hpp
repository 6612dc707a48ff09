// The Vietnamese lunisolar calendar (âm lịch): conversions between lunar and solar dates.
#pragma once

#include <chrono>
#include <expected>
#include <string>

namespace loa::schedules {

// The calendar is computed astronomically (Hồ Ngọc Đức's method after Jean Meeus' "Astronomical
// Algorithms"): a month starts on the local day of a new moon, month 11 is the month holding the
// winter solstice, and a year with 13 months between two months 11 repeats ("nhuận") the first
// month without a major solar term. Days are local to UTC+7, Vietnam's calendar time zone since
// 1968. Dates before 1968 are computed for UTC+7 too, so in a few years they differ from the
// calendar then in use in Vietnam (which followed UTC+8); every date is the UTC+7 calendar.

/// A date of the Vietnamese lunisolar calendar (âm lịch), computed for UTC+7.
struct LunarDate {
    int year = 0;       ///< the lunar year, named by the solar year in which it mostly falls
                        ///< (Tết 2024 starts lunar year 2024)
    int month = 0;      ///< 1..12
    int day = 0;        ///< 1..30
    bool leap = false;  ///< a leap (nhuận) month repeats the month number before it
    friend bool operator==(const LunarDate&, const LunarDate&) = default;
};

/// The supported lunar years, inclusive: 1900..2199, i.e. solar dates from 1900-01-31 (Tết 1900)
/// to 2200-02-14 (the eve of Tết 2200). The new moon series and the ΔT fit hold well there.
inline constexpr int kFirstLunarYear = 1900;
inline constexpr int kLastLunarYear = 2199;

/// The solar (Gregorian) date of a lunar date; an error saying what and why when that lunar date
/// does not exist (day 30 of a 29-day month, a leap month the year lacks …) or its year is outside
/// kFirstLunarYear..kLastLunarYear.
std::expected<std::chrono::year_month_day, std::string> lunar_to_solar(const LunarDate& date);

/// The lunar date of a solar date; an error when `date` is not a valid date or falls outside the
/// supported lunar years.
std::expected<LunarDate, std::string> solar_to_lunar(std::chrono::year_month_day date);

/// The leap month of a lunar year (1..12), or 0 when the year has none (or is not supported).
int leap_month(int lunar_year);

/// Days in a lunar month (29 or 30), or 0 when that month does not exist (a leap month the year
/// lacks, a month number outside 1..12, a year outside the supported range).
int lunar_month_length(int lunar_year, int month, bool leap);

}  // namespace loa::schedules

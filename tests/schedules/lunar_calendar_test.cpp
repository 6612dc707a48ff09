// Tests of the Vietnamese lunar calendar against published Tết and Giỗ Tổ dates and its own rules.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "loa/schedules/lunar_calendar.hpp"

using namespace loa::schedules;
using namespace std::chrono;

namespace {

struct Festival {
    int lunar_year;
    year_month_day solar;
};

constexpr year_month_day ymd(int y, unsigned m, unsigned d) {
    return year{y} / month{m} / day{d};
}

// The two tables below were copied from published sources, not computed by this library:
//  - python-holidays (github.com/vacanza/holidays), holidays/calendars/chinese.py:
//    LUNAR_NEW_YEAR_DATES and HUNG_KINGS_DATES (Chinese calendar, UTC+8) with the corrections
//    for Vietnam in VIETNAMESE_CALENDAR_LUNAR_NEW_YEAR_DATES (2007, 2030 in this range) and
//    VIETNAMESE_CALENDAR_HUNG_KINGS_DATES (2009, 2037, 2038 in this range).
//  - Tết 2007 = 17 Feb 2007 (China: 18 Feb), and 2030 as the next year Vietnam and China differ:
//    a Vietnamese government calendar official quoted by viet-jo.com (6 July 2006); Tết 2030 =
//    2 Feb 2030 (China: 3 Feb): Hồ Ngọc Đức's "Âm lịch Việt Nam" pages, as quoted by
//    kientruc2014.com, and scienceinfo.net ("in 2030 and 2053 Vietnam will eat Tet sooner").
//  - Giỗ Tổ 2009 = 4 Apr 2009 (China: 5 Apr): baomoi.com (29 Mar 2009 "tức ngày 4/3 năm Kỷ Sửu").
//  - Giỗ Tổ cross-checked in Vietnamese and English news and holiday listings: 2011 (vanchuongviet
//    .org, 7 Apr = 5/3), 2016 (baodanang.vn), 2017..2024 (publicholidays.vn), 2021 (cafedautu.vn),
//    2023 (spk.com.vn), 2024 (lichvansu.info, vinanet.vn), 2025 (lawnet.vn), 2026 (excelnotes.com).
// Giỗ Tổ 2037 and 2038, where Vietnam is a day ahead of China, rest on python-holidays alone: no
// second published source was found for them.
const std::vector<Festival> kTet = {
    {1990, ymd(1990, 1, 27)}, {1991, ymd(1991, 2, 15)}, {1992, ymd(1992, 2, 4)},
    {1993, ymd(1993, 1, 23)}, {1994, ymd(1994, 2, 10)}, {1995, ymd(1995, 1, 31)},
    {1996, ymd(1996, 2, 19)}, {1997, ymd(1997, 2, 7)},  {1998, ymd(1998, 1, 28)},
    {1999, ymd(1999, 2, 16)}, {2000, ymd(2000, 2, 5)},  {2001, ymd(2001, 1, 24)},
    {2002, ymd(2002, 2, 12)}, {2003, ymd(2003, 2, 1)},  {2004, ymd(2004, 1, 22)},
    {2005, ymd(2005, 2, 9)},  {2006, ymd(2006, 1, 29)}, {2007, ymd(2007, 2, 17)},
    {2008, ymd(2008, 2, 7)},  {2009, ymd(2009, 1, 26)}, {2010, ymd(2010, 2, 14)},
    {2011, ymd(2011, 2, 3)},  {2012, ymd(2012, 1, 23)}, {2013, ymd(2013, 2, 10)},
    {2014, ymd(2014, 1, 31)}, {2015, ymd(2015, 2, 19)}, {2016, ymd(2016, 2, 8)},
    {2017, ymd(2017, 1, 28)}, {2018, ymd(2018, 2, 16)}, {2019, ymd(2019, 2, 5)},
    {2020, ymd(2020, 1, 25)}, {2021, ymd(2021, 2, 12)}, {2022, ymd(2022, 2, 1)},
    {2023, ymd(2023, 1, 22)}, {2024, ymd(2024, 2, 10)}, {2025, ymd(2025, 1, 29)},
    {2026, ymd(2026, 2, 17)}, {2027, ymd(2027, 2, 6)},  {2028, ymd(2028, 1, 26)},
    {2029, ymd(2029, 2, 13)}, {2030, ymd(2030, 2, 2)},  {2031, ymd(2031, 1, 23)},
    {2032, ymd(2032, 2, 11)}, {2033, ymd(2033, 1, 31)}, {2034, ymd(2034, 2, 19)},
    {2035, ymd(2035, 2, 8)},  {2036, ymd(2036, 1, 28)}, {2037, ymd(2037, 2, 15)},
    {2038, ymd(2038, 2, 4)},  {2039, ymd(2039, 1, 24)}, {2040, ymd(2040, 2, 12)},
    {2041, ymd(2041, 2, 1)},  {2042, ymd(2042, 1, 22)}, {2043, ymd(2043, 2, 10)},
    {2044, ymd(2044, 1, 30)}, {2045, ymd(2045, 2, 17)}, {2046, ymd(2046, 2, 6)},
    {2047, ymd(2047, 1, 26)}, {2048, ymd(2048, 2, 14)}, {2049, ymd(2049, 2, 2)},
    {2050, ymd(2050, 1, 23)},
};

// Giỗ Tổ Hùng Vương, 10/3 lunar; sources above.
const std::vector<Festival> kGioTo = {
    {1990, ymd(1990, 4, 5)},  {1991, ymd(1991, 4, 24)}, {1992, ymd(1992, 4, 12)},
    {1993, ymd(1993, 4, 1)},  {1994, ymd(1994, 4, 20)}, {1995, ymd(1995, 4, 9)},
    {1996, ymd(1996, 4, 27)}, {1997, ymd(1997, 4, 16)}, {1998, ymd(1998, 4, 6)},
    {1999, ymd(1999, 4, 25)}, {2000, ymd(2000, 4, 14)}, {2001, ymd(2001, 4, 3)},
    {2002, ymd(2002, 4, 22)}, {2003, ymd(2003, 4, 11)}, {2004, ymd(2004, 4, 28)},
    {2005, ymd(2005, 4, 18)}, {2006, ymd(2006, 4, 7)},  {2007, ymd(2007, 4, 26)},
    {2008, ymd(2008, 4, 15)}, {2009, ymd(2009, 4, 4)},  {2010, ymd(2010, 4, 23)},
    {2011, ymd(2011, 4, 12)}, {2012, ymd(2012, 3, 31)}, {2013, ymd(2013, 4, 19)},
    {2014, ymd(2014, 4, 9)},  {2015, ymd(2015, 4, 28)}, {2016, ymd(2016, 4, 16)},
    {2017, ymd(2017, 4, 6)},  {2018, ymd(2018, 4, 25)}, {2019, ymd(2019, 4, 14)},
    {2020, ymd(2020, 4, 2)},  {2021, ymd(2021, 4, 21)}, {2022, ymd(2022, 4, 10)},
    {2023, ymd(2023, 4, 29)}, {2024, ymd(2024, 4, 18)}, {2025, ymd(2025, 4, 7)},
    {2026, ymd(2026, 4, 26)}, {2027, ymd(2027, 4, 16)}, {2028, ymd(2028, 4, 4)},
    {2029, ymd(2029, 4, 23)}, {2030, ymd(2030, 4, 12)}, {2031, ymd(2031, 4, 1)},
    {2032, ymd(2032, 4, 19)}, {2033, ymd(2033, 4, 9)},  {2034, ymd(2034, 4, 28)},
    {2035, ymd(2035, 4, 17)}, {2036, ymd(2036, 4, 6)},  {2037, ymd(2037, 4, 24)},
    {2038, ymd(2038, 4, 13)}, {2039, ymd(2039, 4, 3)},  {2040, ymd(2040, 4, 20)},
    {2041, ymd(2041, 4, 10)}, {2042, ymd(2042, 4, 29)}, {2043, ymd(2043, 4, 19)},
    {2044, ymd(2044, 4, 7)},  {2045, ymd(2045, 4, 26)}, {2046, ymd(2046, 4, 15)},
    {2047, ymd(2047, 4, 4)},  {2048, ymd(2048, 4, 22)}, {2049, ymd(2049, 4, 11)},
    {2050, ymd(2050, 4, 1)},
};

// Leap months, as commonly published: 2014/9, 2017/6, 2020/4, 2023/2, 2025/6, 2028/5 (and 2031/3)
// in xemtuong.net's "Cách tính năm nhuận âm lịch"; 2012/4 in baobaclieu.vn (25 May 2012, "năm
// nay âm lịch là năm nhuận có 2 tháng 4"); 2033/11, the rare leap 11th month, in
// singaporeanlifestyle.com's "Year 2033 – The Unusual Leap Month" (a Chinese-calendar source).
struct Leap {
    int lunar_year;
    int month;
};
const std::vector<Leap> kLeapMonths = {{2012, 4}, {2014, 9}, {2017, 6}, {2020, 4}, {2023, 2},
                                       {2025, 6}, {2028, 5}, {2031, 3}, {2033, 11}};

std::string text(const year_month_day& d) {
    return std::to_string(static_cast<int>(d.year())) + "-" +
           std::to_string(static_cast<unsigned>(d.month())) + "-" +
           std::to_string(static_cast<unsigned>(d.day()));
}

int days_between(year_month_day from, year_month_day to) {
    return static_cast<int>((sys_days{to} - sys_days{from}).count());
}

year_month_day solar(const LunarDate& date) {
    auto result = lunar_to_solar(date);
    INFO(std::to_string(date.day) + "/" + std::to_string(date.month) + (date.leap ? " leap" : "") +
         "/" + std::to_string(date.year));
    REQUIRE(result.has_value());
    return *result;
}

std::string error_of(const LunarDate& date) {
    auto result = lunar_to_solar(date);
    REQUIRE_FALSE(result.has_value());
    return result.error();
}

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE("lunar_to_solar: every Tết from 1990 to 2050 falls on its published date") {
    for (const auto& tet : kTet) {
        INFO("Tết " << tet.lunar_year << ", published " << text(tet.solar));
        auto result = lunar_to_solar({tet.lunar_year, 1, 1, false});
        REQUIRE(result.has_value());
        CHECK(text(*result) == text(tet.solar));
    }
}

TEST_CASE("lunar_to_solar: every Giỗ Tổ Hùng Vương from 1990 to 2050 falls on its published date") {
    for (const auto& gio_to : kGioTo) {
        INFO("Giỗ Tổ " << gio_to.lunar_year << ", published " << text(gio_to.solar));
        auto result = lunar_to_solar({gio_to.lunar_year, 3, 10, false});
        REQUIRE(result.has_value());
        CHECK(text(*result) == text(gio_to.solar));
    }
}

TEST_CASE("lunar_to_solar: Vietnam's Tết and Giỗ Tổ differ from China's where UTC+7 says so") {
    CHECK(solar({2007, 1, 1, false}) == ymd(2007, 2, 17));  // China: 18 Feb
    CHECK(solar({2030, 1, 1, false}) == ymd(2030, 2, 2));   // China: 3 Feb
    CHECK(solar({2009, 3, 10, false}) == ymd(2009, 4, 4));  // China: 5 Apr
}

TEST_CASE("solar_to_lunar: published Tết and Giỗ Tổ dates convert back") {
    for (const auto& tet : kTet) {
        INFO("Tết " << tet.lunar_year);
        auto result = solar_to_lunar(tet.solar);
        REQUIRE(result.has_value());
        CHECK(*result == LunarDate{tet.lunar_year, 1, 1, false});
    }
    for (const auto& gio_to : kGioTo) {
        INFO("Giỗ Tổ " << gio_to.lunar_year);
        auto result = solar_to_lunar(gio_to.solar);
        REQUIRE(result.has_value());
        CHECK(*result == LunarDate{gio_to.lunar_year, 3, 10, false});
    }
}

TEST_CASE("solar_to_lunar: the eve of Tết is the last day of month 12 of the year before") {
    for (const auto& tet : kTet) {
        INFO("Tết " << tet.lunar_year);
        auto eve = solar_to_lunar(year_month_day{sys_days{tet.solar} - days{1}});
        REQUIRE(eve.has_value());
        CHECK(eve->year == tet.lunar_year - 1);
        CHECK(eve->month == 12);
        CHECK_FALSE(eve->leap);
        CHECK(eve->day == lunar_month_length(tet.lunar_year - 1, 12, false));
    }
}

TEST_CASE("solar_to_lunar: every day from 1990 to 2050 round-trips and follows the day before") {
    const sys_days first{ymd(1990, 1, 1)};
    const sys_days last{ymd(2050, 12, 31)};
    LunarDate previous{};
    int failures = 0;
    for (sys_days d = first; d <= last; d += days{1}) {
        auto lunar = solar_to_lunar(year_month_day{d});
        bool ok = false;
        if (lunar) {
            auto back = lunar_to_solar(*lunar);
            ok = back.has_value() && sys_days{*back} == d;
        }
        // The next day is the next day of the month, or day 1 of the next month.
        if (ok && d != first) {
            ok = lunar->day == previous.day + 1
                     ? lunar->month == previous.month && lunar->leap == previous.leap
                     : lunar->day == 1 &&
                           previous.day ==
                               lunar_month_length(previous.year, previous.month, previous.leap);
        }
        if (!ok && ++failures <= 5) {
            FAIL_CHECK("day " << text(year_month_day{d}) << " does not round-trip");
        }
        if (lunar) {
            previous = *lunar;
        }
    }
    CHECK(failures == 0);
}

TEST_CASE("leap_month: the commonly published leap months") {
    for (const auto& leap : kLeapMonths) {
        INFO("lunar year " << leap.lunar_year);
        CHECK(leap_month(leap.lunar_year) == leap.month);
    }
    for (int year : {2013, 2015, 2016, 2018, 2019, 2021, 2022, 2024, 2026, 2027}) {
        INFO("lunar year " << year);
        CHECK(leap_month(year) == 0);
    }
    CHECK(leap_month(kFirstLunarYear - 1) == 0);
    CHECK(leap_month(kLastLunarYear + 1) == 0);
}

TEST_CASE("leap_month: years with a leap month have 13 months, the others 12") {
    for (int year = 1990; year <= 2050; ++year) {
        INFO("lunar year " << year);
        const int leap = leap_month(year);
        const int next_tet_after =
            days_between(solar({year, 1, 1, false}), solar({year + 1, 1, 1, false}));
        CHECK((leap != 0) == (next_tet_after > 370));
    }
}

TEST_CASE("lunar_to_solar: 10/3/2023 comes after the leap second month") {
    const auto month2 = solar({2023, 2, 1, false});
    const auto leap2 = solar({2023, 2, 1, true});
    const auto month3 = solar({2023, 3, 1, false});
    CHECK(days_between(month2, leap2) == lunar_month_length(2023, 2, false));
    CHECK(days_between(leap2, month3) == lunar_month_length(2023, 2, true));
    CHECK(solar({2023, 3, 10, false}) == ymd(2023, 4, 29));
    CHECK(lunar_month_length(2023, 3, true) == 0);
}

TEST_CASE("lunar_to_solar: a leap date converts both ways") {
    // The leap 4th month of 2012 ran from 21 May to 18 June 2012 (as published for the Chinese
    // calendar; both new moons fell on the same day at UTC+7).
    CHECK(solar({2012, 4, 1, true}) == ymd(2012, 5, 21));
    CHECK(lunar_month_length(2012, 4, true) == 29);
    auto back = solar_to_lunar(ymd(2012, 5, 21));
    REQUIRE(back.has_value());
    CHECK(*back == LunarDate{2012, 4, 1, true});
    auto end = solar_to_lunar(ymd(2012, 6, 18));
    REQUIRE(end.has_value());
    CHECK(*end == LunarDate{2012, 4, 29, true});

    // The rare leap 11th month of 2033 belongs to lunar year 2033 and ends before Tết 2034.
    for (int day : {1, 15, lunar_month_length(2033, 11, true)}) {
        const LunarDate leap_date{2033, 11, day, true};
        auto round = solar_to_lunar(solar(leap_date));
        REQUIRE(round.has_value());
        CHECK(*round == leap_date);
    }
    CHECK(solar({2033, 11, 1, false}) < solar({2033, 11, 1, true}));
    CHECK(solar({2033, 11, 1, true}) < solar({2033, 12, 1, false}));
    CHECK(solar({2033, 12, 1, false}) < solar({2034, 1, 1, false}));
}

TEST_CASE("lunar_to_solar: dates that do not exist are errors saying why") {
    CHECK(error_of({2024, 1, 31, false}) ==
          "lunar day 31 does not exist: months have 29 or 30 days, numbered from 1");
    CHECK(contains(error_of({2024, 1, 0, false}), "lunar day 0 does not exist"));
    CHECK(contains(error_of({2024, 13, 1, false}), "lunar month 13 does not exist"));
    CHECK(contains(error_of({2024, 0, 1, false}), "lunar month 0 does not exist"));
    CHECK(error_of({2024, 3, 1, true}) == "2024 has no leap month 3 (its leap month: none)");
    CHECK(error_of({2023, 3, 1, true}) == "2023 has no leap month 3 (its leap month: 2)");
    // Month 1 of 2024 ran from Tết (10 Feb) to 9 March: 29 days.
    CHECK(lunar_month_length(2024, 1, false) == 29);
    CHECK(error_of({2024, 1, 30, false}) ==
          "lunar 30/1/2024 does not exist: that month has 29 days");
    CHECK(error_of({2012, 4, 30, true}) ==
          "lunar 30/4 (leap)/2012 does not exist: that month has 29 days");
}

TEST_CASE("lunar_to_solar: years outside the supported range are errors") {
    CHECK(contains(error_of({kFirstLunarYear - 1, 1, 1, false}), "outside the supported"));
    CHECK(contains(error_of({kLastLunarYear + 1, 1, 1, false}), "outside the supported"));
    CHECK(lunar_to_solar({kFirstLunarYear, 1, 1, false}).has_value());
    CHECK(lunar_to_solar({kLastLunarYear, 12, 1, false}).has_value());
}

TEST_CASE("solar_to_lunar: the supported range is lunar years 1900..2199, inclusive") {
    const auto first = solar({kFirstLunarYear, 1, 1, false});
    CHECK(first == ymd(1900, 1, 31));  // as documented in the header
    CHECK(solar_to_lunar(first).has_value());
    CHECK_FALSE(solar_to_lunar(year_month_day{sys_days{first} - days{1}}).has_value());

    const int last_length = lunar_month_length(kLastLunarYear, 12, false);
    const auto last = solar({kLastLunarYear, 12, last_length, false});
    CHECK(last == ymd(2200, 2, 14));  // as documented in the header
    auto last_lunar = solar_to_lunar(last);
    REQUIRE(last_lunar.has_value());
    CHECK(last_lunar->year == kLastLunarYear);
    auto beyond = solar_to_lunar(year_month_day{sys_days{last} + days{1}});
    REQUIRE_FALSE(beyond.has_value());
    CHECK(contains(beyond.error(), "outside the supported"));

    CHECK_FALSE(solar_to_lunar(ymd(1800, 6, 1)).has_value());
    CHECK_FALSE(solar_to_lunar(ymd(2500, 6, 1)).has_value());
}

TEST_CASE("solar_to_lunar: an invalid solar date is an error") {
    auto result = solar_to_lunar(ymd(2023, 2, 30));
    REQUIRE_FALSE(result.has_value());
    CHECK(contains(result.error(), "2023-02-30"));
}

TEST_CASE("lunar_month_length: months have 29 or 30 days and years 353..355 or 383..385") {
    for (int year = kFirstLunarYear; year <= kLastLunarYear; ++year) {
        INFO("lunar year " << year);
        const int leap = leap_month(year);
        int total = 0;
        for (int month = 1; month <= 12; ++month) {
            const int length = lunar_month_length(year, month, false);
            CHECK((length == 29 || length == 30));
            total += length;
            const int leap_length = lunar_month_length(year, month, true);
            if (month == leap) {
                CHECK((leap_length == 29 || leap_length == 30));
            } else {
                CHECK(leap_length == 0);
            }
            total += leap_length;
        }
        if (leap == 0) {
            CHECK((total >= 353 && total <= 355));
        } else {
            CHECK((total >= 383 && total <= 385));
        }
        if (year < kLastLunarYear) {
            CHECK(total ==
                  days_between(solar({year, 1, 1, false}), solar({year + 1, 1, 1, false})));
        }
    }
    CHECK(lunar_month_length(2024, 13, false) == 0);
    CHECK(lunar_month_length(2024, 4, true) == 0);
    CHECK(lunar_month_length(kLastLunarYear + 1, 1, false) == 0);
}

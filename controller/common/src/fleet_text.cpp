// Short texts of the fleet views: ages and instants to the minute.
#include "loa/controller/common/fleet_text.hpp"

#include <algorithm>
#include <cstdlib>

#include <fmt/core.h>

#include "loa/controller/common/text_table.hpp"
#include "loa/controller/common/time_text.hpp"

namespace loa::controller::detail {

std::string age_text(std::int64_t age_us, Language language) {
    const bool vi = language == Language::vi;
    const std::int64_t s = std::max<std::int64_t>(age_us, 0) / 1'000'000;
    std::string amount;
    if (s < 120) {
        amount = fmt::format("{} s", s);
    } else if (s < 2 * 3600) {
        amount = fmt::format(fmt::runtime(vi ? "{} phút" : "{} min"), s / 60);
    } else if (s < 2 * 86400) {
        amount = fmt::format(fmt::runtime(vi ? "{} giờ" : "{} h"), s / 3600);
    } else {
        amount = fmt::format(fmt::runtime(vi ? "{} ngày" : "{} d"), s / 86400);
    }
    return amount + (vi ? " trước" : " ago");
}

std::string short_local(std::int64_t utc_us) {
    std::string iso = format_local(utc_us);  // 2026-11-24T05:30:00+07:00
    return iso.substr(0, 10) + " " + iso.substr(11, 5);
}

std::string play_state_text(std::string_view state, Language language) {
    const bool vi = language == Language::vi;
    if (state == "idle") {
        return vi ? "chờ" : "idle";
    }
    if (state == "playing") {
        return vi ? "đang phát" : "playing";
    }
    if (state == "emergency") {
        return vi ? "KHẨN CẤP" : "EMERGENCY";
    }
    return "?";
}

std::string offset_text(std::optional<std::int64_t> offset_us, std::int64_t warn_us) {
    if (!offset_us) {
        return "-";
    }
    return fmt::format("{:+.1f} ms{}", static_cast<double>(*offset_us) / 1e3,
                       std::llabs(*offset_us) > warn_us ? " !" : "");
}

std::string clip(std::string_view text, std::size_t columns) {
    if (display_width(text) <= columns) {
        return std::string(text);
    }
    std::string out;
    std::size_t width = 0;
    for (std::size_t i = 0; i < text.size();) {
        std::size_t len = 1;
        while (i + len < text.size() &&
               (static_cast<unsigned char>(text[i + len]) & 0xc0) == 0x80) {
            ++len;
        }
        const auto point = text.substr(i, len);
        width += display_width(point);
        if (width + 1 > columns) {  // room for the ellipsis
            break;
        }
        out.append(point);
        i += len;
    }
    return out + "…";
}

std::string utf8_text(std::string_view bytes) {
    std::string out;
    out.reserve(bytes.size());
    auto continuation = [&](std::size_t at) {
        return at < bytes.size() && (static_cast<unsigned char>(bytes[at]) & 0xc0) == 0x80;
    };
    for (std::size_t i = 0; i < bytes.size();) {
        const auto c = static_cast<unsigned char>(bytes[i]);
        std::size_t len = c < 0x80                   ? 1
                          : (c >= 0xc2 && c <= 0xdf) ? 2
                          : (c >> 4) == 0xe          ? 3
                          : (c >= 0xf0 && c <= 0xf4) ? 4
                                                     : 0;
        bool valid = len > 0;
        for (std::size_t k = 1; valid && k < len; ++k) {
            valid = continuation(i + k);
        }
        if (valid && len >= 3) {
            // No overlong forms, no surrogates, nothing above U+10FFFF.
            const auto c1 = static_cast<unsigned char>(bytes[i + 1]);
            valid = !(c == 0xe0 && c1 < 0xa0) && !(c == 0xed && c1 >= 0xa0) &&
                    !(c == 0xf0 && c1 < 0x90) && !(c == 0xf4 && c1 >= 0x90);
        }
        if (!valid) {
            out += "\xEF\xBF\xBD";
            ++i;
            continue;
        }
        out.append(bytes.substr(i, len));
        i += len;
    }
    return out;
}

}  // namespace loa::controller::detail

// People on real SQLite files: passwords (Argon2id), API tokens, area scopes, the role matrix,
// the approval gate of every way media gets on the air, and the append-only action log.
#include <catch2/catch.hpp>

#include <SQLiteCpp/Exception.h>
#include <fmt/core.h>

#include "controller_fixture.hpp"
#include "loa/controller/booking/plan_booking.hpp"
#include "loa/controller/content/approval.hpp"
#include "loa/controller/fleet/emergencies.hpp"
#include "loa/controller/people/action_log.hpp"
#include "loa/controller/people/people.hpp"

using namespace loa;
using namespace loa::test;
namespace lc = loa::controller;
using Catch::Matchers::Contains;

namespace {

constexpr const char* kTaVan = "vn/lao-cai/sa-pa/ta-van";
constexpr const char* kAMuSung = "vn/lao-cai/bat-xat/a-mu-sung";

lc::UserRecord add(ControllerFixture& f, const std::string& name, lc::Role role,
                   const std::string& area, const std::string& password = "mat-khau-du-dai") {
    auto added = loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
        return lc::add_user(tx, {name, "", role, area, password}, kNow);
    });
    REQUIRE(added.has_value());
    return *added;
}

lc::Principal person(const std::string& name, lc::Role role, const std::string& area) {
    return {1, name, role, area, 0};
}

/// Imports a tone without approving it.
std::string unapproved_tone(ControllerFixture& f, double frequency) {
    auto file = f.dir / fmt::format("unapproved-{}.wav", frequency);
    make_tone(file, 2.0, 22050, frequency);
    auto imported = loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
        return lc::import_media(tx, f.store, file, "Chưa duyệt", kNow);
    });
    REQUIRE(imported.has_value());
    return imported->media.media_hash;
}

std::string column(SQLite::Database& db, const std::string& sql) {
    SQLite::Statement q(db, sql);
    REQUIRE(q.executeStep());
    return q.getColumn(0).getString();
}

}  // namespace

TEST_CASE("passwords are stored as Argon2id hashes and checked, a wrong one is refused") {
    ControllerFixture f;
    CHECK(*lc::count_users(*f.db) == 0);
    const auto admin = add(f, "quan-tri", lc::Role::admin, "/", "mật khẩu đủ dài");
    CHECK(*lc::count_users(*f.db) == 1);
    const std::string stored =
        column(*f.db, "SELECT password_hash FROM users WHERE name = 'quan-tri'");
    CHECK(stored.starts_with("$argon2id$"));
    CHECK(stored.find("mật khẩu") == std::string::npos);

    auto ok = lc::check_password(*f.db, "quan-tri", "mật khẩu đủ dài");
    REQUIRE(ok.has_value());
    CHECK(ok->user_id == admin.user_id);
    CHECK(ok->role == lc::Role::admin);
    CHECK(ok->area == "/");

    auto wrong = lc::check_password(*f.db, "quan-tri", "mật khẩu sai");
    REQUIRE_FALSE(wrong.has_value());
    CHECK(wrong.error().code == lc::Error::Code::forbidden);
    CHECK_THAT(wrong.error().message, Contains("sai tên đăng nhập hoặc mật khẩu") &&
                                          Contains("wrong user name or password"));
    // An unknown name gets the same words: they do not tell which names exist.
    auto nobody = lc::check_password(*f.db, "ai-do", "mật khẩu đủ dài");
    REQUIRE_FALSE(nobody.has_value());
    CHECK(nobody.error().message == wrong.error().message);

    SECTION("refused users: short password, bad name or scope, a name taken") {
        auto short_one = loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
            return lc::add_user(tx, {"ngan", "", lc::Role::auditor, "/", "1234567"}, kNow);
        });
        REQUIRE_FALSE(short_one.has_value());
        CHECK_THAT(short_one.error().message, Contains("at least 8 characters"));
        // Eight characters with diacritics count as eight, not as their bytes.
        CHECK(loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
            return lc::add_user(tx, {"tam", "", lc::Role::auditor, "/", "ảảảảảảảả"}, kNow);
        }));
        CHECK_FALSE(loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
            return lc::add_user(tx, {"Quản Trị", "", lc::Role::admin, "/", "mat-khau-dai"}, kNow);
        }));
        auto bad_area = loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
            return lc::add_user(tx, {"xa", "", lc::Role::operator_, "Lào Cai", "mat-khau-dai"},
                                kNow);
        });
        REQUIRE_FALSE(bad_area.has_value());
        CHECK_THAT(bad_area.error().message, Contains("'/' for every area"));
        auto taken = loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
            return lc::add_user(tx, {"quan-tri", "", lc::Role::auditor, "/", "mat-khau-dai"}, kNow);
        });
        REQUIRE_FALSE(taken.has_value());
        CHECK(taken.error().code == lc::Error::Code::conflict);
    }
    SECTION("a disabled user's password is refused") {
        REQUIRE(loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
            return lc::disable_user(tx, "quan-tri", kNow);
        }));
        auto refused = lc::check_password(*f.db, "quan-tri", "mật khẩu đủ dài");
        REQUIRE_FALSE(refused.has_value());
        CHECK_THAT(refused.error().message, Contains("disabled"));
        CHECK_FALSE(loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
            return lc::disable_user(tx, "quan-tri", kNow);
        }));  // already
    }
}

TEST_CASE("API tokens: issued once, authenticated by hash, refused when revoked or expired") {
    ControllerFixture f;
    const auto op = add(f, "op-ta-van", lc::Role::operator_, kTaVan);
    auto issued = loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
        return lc::issue_token(tx, op.user_id, "may tinh xa", std::nullopt, kNow);
    });
    REQUIRE(issued.has_value());
    CHECK(issued->secret.starts_with("loa_"));
    CHECK(issued->secret.size() == 4 + 64);
    // Only a hash is kept.
    const std::string kept = column(*f.db, "SELECT token_hash FROM api_tokens");
    CHECK(kept.size() == 64);
    CHECK(kept != issued->secret.substr(4));

    auto who = lc::authenticate_token(*f.db, issued->secret, kNow + kSecondUs);
    REQUIRE(who.has_value());
    CHECK(who->name == "op-ta-van");
    CHECK(who->role == lc::Role::operator_);
    CHECK(who->area == kTaVan);
    CHECK(who->token_id == issued->token.token_id);
    // Authenticating reads only; that the token was used is a change of its own (the API queues
    // it at most once a minute, without waiting).
    CHECK_FALSE(who->token_last_used_us.has_value());
    CHECK_FALSE(lc::find_token(*f.db, issued->token.token_id)->last_used_us.has_value());
    auto noted = [&](std::int64_t at) {
        return loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
            return lc::note_token_use(tx, issued->token.token_id, at);
        });
    };
    REQUIRE(noted(kNow + kSecondUs));
    CHECK(lc::find_token(*f.db, issued->token.token_id)->last_used_us == kNow + kSecondUs);
    CHECK(
        lc::authenticate_token(*f.db, issued->secret, kNow + 30 * kSecondUs)->token_last_used_us ==
        kNow + kSecondUs);
    REQUIRE(noted(kNow + 90 * kSecondUs));
    CHECK(lc::find_token(*f.db, issued->token.token_id)->last_used_us == kNow + 90 * kSecondUs);
    REQUIRE(noted(kNow + 60 * kSecondUs));  // an older use never moves it back
    CHECK(lc::find_token(*f.db, issued->token.token_id)->last_used_us == kNow + 90 * kSecondUs);

    auto unknown = lc::authenticate_token(*f.db, "loa_" + std::string(64, '0'), kNow);
    REQUIRE_FALSE(unknown.has_value());
    CHECK(unknown.error().code == lc::Error::Code::forbidden);
    CHECK_THAT(unknown.error().message, Contains("unknown API token"));
    CHECK_FALSE(lc::token_holder(*f.db, "loa_" + std::string(64, '0')));

    SECTION("revoked") {
        REQUIRE(loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
            return lc::revoke_token(tx, issued->token.token_id, kNow + 2 * kSecondUs);
        }));
        auto refused = lc::authenticate_token(*f.db, issued->secret, kNow + 3 * kSecondUs);
        REQUIRE_FALSE(refused.has_value());
        CHECK_THAT(refused.error().message, Contains("đã bị thu hồi") && Contains("revoked"));
        // Still known, so that a refusal can be logged under its holder's name.
        auto holder = lc::token_holder(*f.db, issued->secret);
        REQUIRE(holder);
        CHECK(holder->name == "op-ta-van");
        CHECK_FALSE(loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
            return lc::revoke_token(tx, issued->token.token_id, kNow);
        }));  // already
        CHECK(lc::token_state(*lc::find_token(*f.db, issued->token.token_id), kNow) == "revoked");
    }
    SECTION("expired") {
        auto brief = loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
            return lc::issue_token(tx, op.user_id, "ngan han", kNow + 60 * kSecondUs, kNow);
        });
        REQUIRE(brief.has_value());
        CHECK(lc::authenticate_token(*f.db, brief->secret, kNow + 59 * kSecondUs));
        auto refused = lc::authenticate_token(*f.db, brief->secret, kNow + 60 * kSecondUs);
        REQUIRE_FALSE(refused.has_value());
        CHECK_THAT(refused.error().message, Contains("hết hạn") && Contains("expired"));
        CHECK_FALSE(loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
            return lc::issue_token(tx, op.user_id, "qua khu", kNow - 1, kNow);
        }));
    }
    SECTION("older than the longest lifetime, whatever its expiry") {
        constexpr std::int64_t kDayUs = 86'400 * kSecondUs;
        CHECK(lc::authenticate_token(*f.db, issued->secret, kNow + 7 * kDayUs - 1, 7 * kDayUs));
        auto refused = lc::authenticate_token(*f.db, issued->secret, kNow + 7 * kDayUs, 7 * kDayUs);
        REQUIRE_FALSE(refused.has_value());
        CHECK(refused.error().code == lc::Error::Code::forbidden);
        CHECK_THAT(refused.error().message, Contains("7 ngày") && Contains("7 days"));
        const auto token = *lc::find_token(*f.db, issued->token.token_id);
        CHECK(lc::token_state(token, kNow + 7 * kDayUs, 7 * kDayUs) == "expired");
        CHECK(lc::token_state(token, kNow + 7 * kDayUs) == "valid");  // no limit given
        CHECK(lc::lifetime_text(36 * 3600 * kSecondUs, lc::Language::en) == "36 hours");
    }
    SECTION("of a disabled user") {
        REQUIRE(loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
            return lc::disable_user(tx, "op-ta-van", kNow);
        }));
        auto refused = lc::authenticate_token(*f.db, issued->secret, kNow);
        REQUIRE_FALSE(refused.has_value());
        CHECK_THAT(refused.error().message, Contains("disabled"));
    }
    SECTION("listed within a scope") {
        const auto other = add(f, "op-a-mu-sung", lc::Role::operator_, kAMuSung);
        REQUIRE(loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
            return lc::issue_token(tx, other.user_id, "", std::nullopt, kNow);
        }));
        CHECK(lc::list_tokens(*f.db, "/")->size() == 2);
        CHECK(lc::list_tokens(*f.db, "vn/lao-cai/sa-pa")->size() == 1);
        CHECK(lc::list_tokens(*f.db, "/", other.user_id)->at(0).user_name == "op-a-mu-sung");
    }
}

TEST_CASE("area scopes: '/' is every area, a scope holds its area and what lies below") {
    CHECK(lc::in_scope("/", kTaVan));
    CHECK(lc::in_scope("/", "/"));
    CHECK(lc::in_scope("vn/lao-cai", kTaVan));
    CHECK(lc::in_scope(kTaVan, kTaVan));
    CHECK_FALSE(lc::in_scope(kTaVan, "vn/lao-cai/sa-pa"));
    CHECK_FALSE(lc::in_scope(kTaVan, kAMuSung));
    CHECK_FALSE(lc::in_scope("vn/lao-cai/sa", "vn/lao-cai/sa-pa"));  // segments, not prefixes
    CHECK_FALSE(lc::in_scope(kTaVan, "/"));
    CHECK(lc::scopes_overlap("vn/lao-cai", kTaVan));
    CHECK(lc::scopes_overlap(kTaVan, "vn/lao-cai"));
    CHECK_FALSE(lc::scopes_overlap(kTaVan, kAMuSung));
    CHECK(lc::common_scope(kTaVan, kAMuSung) == "vn/lao-cai");
    CHECK(lc::common_scope(kTaVan, "vn/lao-cai/sa-pa/ban-ho") == "vn/lao-cai/sa-pa");
    CHECK(lc::common_scope("vn/x", "la/y") == "/");
    CHECK(lc::common_scope("/", kTaVan) == "/");
    CHECK(lc::scope_problem("/").empty());
    CHECK(lc::scope_problem(kTaVan).empty());
    CHECK_FALSE(lc::scope_problem("").empty());
    CHECK_FALSE(lc::scope_problem("vn/").empty());
}

TEST_CASE("the role matrix, and refusals that say who may not do what where") {
    using P = lc::Permission;
    const std::vector<P> all = {P::read,          P::audit,        P::import_media,
                                P::approve_media, P::schedule,     P::emergency,
                                P::command_nodes, P::manage_nodes, P::manage_people};
    for (P p : all) {
        CHECK(lc::role_may(lc::Role::admin, p));
    }
    const std::vector<P> operators = {P::read,      P::import_media,  P::schedule,
                                      P::emergency, P::command_nodes, P::manage_nodes};
    for (P p : all) {
        INFO(lc::permission_name(p));
        const bool op = std::find(operators.begin(), operators.end(), p) != operators.end();
        CHECK(lc::role_may(lc::Role::operator_, p) == op);
        CHECK(lc::role_may(lc::Role::approver, p) == (p == P::read || p == P::approve_media));
        CHECK(lc::role_may(lc::Role::auditor, p) == (p == P::read || p == P::audit));
    }
    CHECK(lc::role_from_name("operator") == lc::Role::operator_);
    CHECK_FALSE(lc::role_from_name("root"));

    const auto op = person("op-ta-van", lc::Role::operator_, kTaVan);
    CHECK(lc::authorize(op, P::schedule, kTaVan));
    CHECK(lc::authorize(op, P::schedule, std::string(kTaVan) + "/thon-1"));
    auto elsewhere = lc::authorize(op, P::schedule, kAMuSung);
    REQUIRE_FALSE(elsewhere.has_value());
    CHECK(elsewhere.error().code == lc::Error::Code::forbidden);
    // Vietnamese first, then English: who, what, where.
    const auto& why = elsewhere.error().message;
    CHECK(why.find("không được phép") < why.find("not allowed"));
    CHECK_THAT(why, Contains("op-ta-van") && Contains("xếp lịch phát") &&
                        Contains("schedule plays") && Contains(kAMuSung) &&
                        Contains("outside its scope"));
    auto above = lc::authorize(op, P::read, "vn/lao-cai");
    REQUIRE_FALSE(above.has_value());

    const auto auditor = person("kiem-tra", lc::Role::auditor, "/");
    CHECK(lc::authorize(auditor, P::read, kAMuSung));
    auto import = lc::authorize(auditor, P::import_media, kAMuSung);
    REQUIRE_FALSE(import.has_value());
    CHECK_THAT(import.error().message,
               Contains("nhập nội dung") && Contains("the auditor role does not include it"));
    CHECK(lc::authorize(person("a", lc::Role::admin, "/"), P::manage_people, "/"));
    CHECK(lc::may_see(op, kTaVan));
    CHECK_FALSE(lc::may_see(op, kAMuSung));
}

TEST_CASE("only approved media is booked, a refusal names it and changes nothing") {
    ControllerFixture f;
    f.node("ta-van-01", kTaVan);
    const auto pending = unapproved_tone(f, 440);
    CHECK(column(*f.db, "SELECT approval FROM media_areas") == "pending");

    auto refused = loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
        return lc::add_campaign(tx, f.campaign("thien-tai", {pending}, {kTaVan}), kNow);
    });
    REQUIRE_FALSE(refused.has_value());
    CHECK(refused.error().code == lc::Error::Code::forbidden);
    CHECK_THAT(refused.error().message, Contains("item 1") && Contains(pending.substr(0, 12)) &&
                                            Contains("chưa được phê duyệt") &&
                                            Contains("not approved"));
    CHECK(f.count("campaigns") == 0);
    CHECK(f.count("slots") == 0);

    auto approved = loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
        return lc::decide_media(tx, pending, "/", lc::Decision::approved, "duyet-vien", "đã nghe",
                                kNow);
    });
    REQUIRE(approved.has_value());
    CHECK(approved->previous == "pending");
    CHECK(column(*f.db, "SELECT approval FROM media_areas") == "approved");
    CHECK_FALSE(loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
        return lc::decide_media(tx, pending, "/", lc::Decision::approved, "x", "", kNow);
    }));
    auto booked = loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
        return lc::add_campaign(tx, f.campaign("thien-tai", {pending}, {kTaVan}), kNow);
    });
    REQUIRE(booked.has_value());
    CHECK(booked->slots_booked == 1);

    SECTION("rejected later: its plays not started are taken back and it cannot be booked") {
        auto rejected = loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
            return lc::decide_media(tx, pending, "/", lc::Decision::rejected, "duyet-vien",
                                    "sai thông tin", kNow);
        });
        REQUIRE(rejected.has_value());
        CHECK(rejected->plays_taken_back == 1);
        CHECK(f.count("slots") == 0);
        auto again = loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
            return lc::add_campaign(tx, f.campaign("lan-hai", {pending}, {kTaVan}), kNow);
        });
        REQUIRE_FALSE(again.has_value());
        CHECK_THAT(again.error().message, Contains("rejected") && Contains("đã bị từ chối"));
        // A node added now gets nothing of it either.
        f.node("ta-van-02", kTaVan);
        CHECK(f.count("slots") == 0);
        auto history = lc::approval_history(*f.db, pending);
        REQUIRE(history->size() == 2);
        CHECK(history->at(1).decision == lc::Decision::rejected);
        CHECK(history->at(1).note == "sai thông tin");
    }
}

TEST_CASE("emergencies and plans refuse unapproved media too") {
    ControllerFixture f;
    f.node("ta-van-01", kTaVan);
    const auto pending = unapproved_tone(f, 550);
    lc::EmergencySpec spec;
    spec.media_hash = pending;
    spec.node_ids = {"ta-van-01"};
    spec.expires_us = kNow + 3600 * kSecondUs;
    auto refused = loa::controller::write_directly(
        *f.db, [&](loa::controller::WriteTx& tx) { return lc::send_emergency(tx, spec, kNow); });
    REQUIRE_FALSE(refused.has_value());
    CHECK(refused.error().code == lc::Error::Code::forbidden);
    CHECK_THAT(refused.error().message, Contains("not approved"));
    CHECK(f.count("emergencies") == 0);
    CHECK(f.count("commands") == 0);

    const auto approved = f.tone(3.0, 660);
    const auto file = f.dir / "plan.toml";
    write_file(file, fmt::format(R"(
[[areas]]
path = "vn"
name = "Việt Nam"
  [[areas.windows]]
  name = "sang"
  start = "06:00"
  end = "07:00"

[[areas]]
path = "vn/lao-cai"
name = "Lào Cai"

[[areas]]
path = "vn/lao-cai/sa-pa"
name = "Sa Pa"

[[areas]]
path = "vn/lao-cai/sa-pa/ta-van"
name = "Tả Van"

[[nodes]]
id = "ta-van-01"
area = "{}"

[[items]]
id = "chua-duyet"
title = "Chưa duyệt"
duration = "2s"
media = "{}"

[[items]]
id = "da-duyet"
title = "Đã duyệt"
duration = "3s"
media = "{}"

[[campaigns]]
id = "thien-tai"
title = "Phòng chống thiên tai"
areas = ["vn"]
items = ["chua-duyet", "da-duyet"]
from = 2026-11-24
until = 2026-11-30
  [campaigns.quotas]
  plays_per_day = 1
)",
                                 kTaVan, pending, approved));
    const schedules::Date today{std::chrono::year{2026}, std::chrono::month{11},
                                std::chrono::day{24}};
    auto plan = loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
        return lc::apply_plan(tx, file, today, 2, kNow, false);
    });
    REQUIRE_FALSE(plan.has_value());
    CHECK(plan.error().code == lc::Error::Code::forbidden);
    CHECK_THAT(plan.error().message,
               Contains("plan.toml:") && Contains("chua-duyet") && Contains("not approved"));
    CHECK_THAT(plan.error().message, !Contains("da-duyet"));
    CHECK(f.count("plans") == 0);
    CHECK(f.count("slots") == 0);

    SECTION("a plan touching an area outside the person's scope is refused") {
        f.approve(pending);
        const auto op = person("op-a-mu-sung", lc::Role::operator_, kAMuSung);
        auto outside = loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
            return lc::apply_plan(tx, file, today, 2, kNow, false, {}, [&](std::string_view area) {
                return lc::authorize(op, lc::Permission::schedule, area);
            });
        });
        REQUIRE_FALSE(outside.has_value());
        CHECK(outside.error().code == lc::Error::Code::forbidden);
        CHECK(f.count("plans") == 0);
        // Within scope it applies.
        const auto province = person("op-tinh", lc::Role::operator_, "vn");
        auto inside = loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
            return lc::apply_plan(tx, file, today, 2, kNow, false, {}, [&](std::string_view area) {
                return lc::authorize(province, lc::Permission::schedule, area);
            });
        });
        REQUIRE(inside.has_value());
        CHECK(inside->applied);
    }
}

TEST_CASE("the action log is append-only and keeps refusals with their reason") {
    ControllerFixture f;
    const auto op = person("op-ta-van", lc::Role::operator_, kTaVan);
    REQUIRE(loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
        return lc::record_action(tx, op, "campaign.book", "thien-tai", kTaVan, lc::Outcome::done,
                                 {{"slots_booked", 3}}, kNow);
    }));
    auto why = lc::authorize(op, lc::Permission::schedule, kAMuSung);
    REQUIRE_FALSE(why.has_value());
    REQUIRE(loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
        return lc::record_action(tx, op, "campaign.book", "xam-nhap", kAMuSung,
                                 lc::Outcome::refused, {{"reason", why.error().message}},
                                 kNow + kSecondUs);
    }));
    lc::LoggedAction login;
    login.at_us = kNow + 2 * kSecondUs;
    login.actor = "ai-do";
    login.actor_role = "unknown";
    login.action = "access.refused";
    login.area = "/";
    login.outcome = lc::Outcome::refused;
    login.detail = {{"command", "login"}, {"reason", "wrong user name or password"}};
    REQUIRE(loa::controller::write_directly(
        *f.db, [&](loa::controller::WriteTx& tx) { return lc::record_action(tx, login); }));

    SECTION("UPDATE and DELETE are refused by the database") {
        CHECK_THROWS_WITH(f.db->exec("UPDATE action_log SET outcome = 'done'"),
                          Contains("append-only"));
        CHECK_THROWS_WITH(f.db->exec("DELETE FROM action_log"), Contains("append-only"));
        CHECK(f.count("action_log") == 3);
    }
    SECTION("read back, filtered") {
        auto all = lc::list_actions(*f.db, {});
        REQUIRE(all->size() == 3);
        CHECK(all->at(0).action == "campaign.book");
        CHECK(all->at(0).outcome == lc::Outcome::done);
        CHECK(all->at(0).detail["slots_booked"] == 3);
        CHECK(all->at(1).outcome == lc::Outcome::refused);
        CHECK_THAT(all->at(1).detail["reason"].get<std::string>(), Contains("outside its scope"));

        lc::ActionFilter family;
        family.action = "campaign";
        CHECK(lc::list_actions(*f.db, family)->size() == 2);
        lc::ActionFilter exact;
        exact.action = "campaign.boo";  // neither the action nor a family of it
        CHECK(lc::list_actions(*f.db, exact)->empty());
        lc::ActionFilter by;
        by.actor = "ai-do";
        CHECK(lc::list_actions(*f.db, by)->size() == 1);
        lc::ActionFilter since;
        since.since_us = kNow + kSecondUs;
        CHECK(lc::list_actions(*f.db, since)->size() == 2);
        lc::ActionFilter scope;
        scope.scope = "vn/lao-cai/bat-xat";
        auto there = lc::list_actions(*f.db, scope);
        REQUIRE(there->size() == 1);
        CHECK(there->at(0).target == "xam-nhap");
        lc::ActionFilter newest;
        newest.limit = 1;
        CHECK(lc::list_actions(*f.db, newest)->at(0).actor == "ai-do");

        auto json = lc::actions_json(*all);
        CHECK(json[1]["outcome"] == "refused");
        CHECK(json[1]["actor"] == "op-ta-van");
        CHECK(json[1]["role"] == "operator");
        CHECK_THAT(lc::render_actions(*all, lc::Language::vi), Contains("TỪ CHỐI"));
        CHECK_THAT(lc::render_actions(*all, lc::Language::en), Contains("REFUSED"));
    }
}

TEST_CASE("a new password replaces the hash and revokes the person's other valid tokens at once") {
    ControllerFixture f;
    const auto op = add(f, "op-ta-van", lc::Role::operator_, kTaVan, "mat-khau-cu-du-dai");
    const auto other = add(f, "op-a-mu-sung", lc::Role::operator_, kAMuSung);
    auto issue = [&](std::int64_t user_id, std::optional<std::int64_t> expires) {
        auto issued = loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
            return lc::issue_token(tx, user_id, "", expires, kNow);
        });
        REQUIRE(issued.has_value());
        return issued->token.token_id;
    };
    const auto in_use = issue(op.user_id, std::nullopt);
    const auto second = issue(op.user_id, kNow + 3600 * kSecondUs);
    const auto expired = issue(op.user_id, kNow + kSecondUs);
    const auto others = issue(other.user_id, std::nullopt);

    CHECK_THAT(lc::password_problem("ngắn"), Contains("ít nhất 8 ký tự") && Contains("at least 8"));
    CHECK_THAT(lc::password_problem(std::string(1025, 'a')), Contains("1024"));
    CHECK(lc::password_problem("mật khẩu mới") == "");
    CHECK_FALSE(lc::hash_new_password("ngắn"));
    auto hash = lc::hash_new_password("mat-khau-moi-du-dai");
    REQUIRE(hash);
    CHECK(hash->starts_with("$argon2id$"));

    auto changed = loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
        return lc::set_password(tx, "op-ta-van", *hash, in_use, kNow + 2 * kSecondUs);
    });
    REQUIRE(changed.has_value());
    CHECK(changed->user.name == "op-ta-van");
    CHECK(changed->revoked_tokens == 1);  // the second; not the one in use, nor the expired one
    CHECK_FALSE(lc::find_token(*f.db, in_use)->revoked_us);
    CHECK(lc::find_token(*f.db, second)->revoked_us == kNow + 2 * kSecondUs);
    CHECK_FALSE(lc::find_token(*f.db, expired)->revoked_us);
    CHECK_FALSE(lc::find_token(*f.db, others)->revoked_us);
    CHECK_FALSE(lc::check_password(*f.db, "op-ta-van", "mat-khau-cu-du-dai"));
    CHECK(lc::check_password(*f.db, "op-ta-van", "mat-khau-moi-du-dai"));

    auto unknown = loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
        return lc::set_password(tx, "khong-co", *hash, 0, kNow);
    });
    REQUIRE_FALSE(unknown.has_value());
    CHECK(unknown.error().code == lc::Error::Code::not_found);
}

// People on the command line: the first admin, users per commune, approval before air, area
// scopes that hide and protect other communes, revoked tokens, and the action log of it all.
#include <catch2/catch.hpp>

#include <string>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "scenario.hpp"
#include "test_support.hpp"

using namespace loa::test;
using loa::e2e::shell_quote;

namespace {

constexpr const char* kTaVan = "vn/lao-cai/sa-pa/ta-van";         // commune A
constexpr const char* kAMuSung = "vn/lao-cai/bat-xat/a-mu-sung";  // commune B

struct Run {
    int status = -1;
    std::string out;  ///< stdout
    std::string err;  ///< stderr
};

/// A controller data directory and loactl run in it with a given token (or none).
class Controller {
  public:
    Run loactl(const std::string& token, const std::string& args, const std::string& input = "") {
        Run run;
        const auto err = dir_ / "stderr.txt";
        const std::string feed =
            input.empty() ? "" : fmt::format("printf '%s\\n' {} | ", shell_quote(input));
        run.out =
            capture_shell(fmt::format("{}env -u LOA_TOKEN {}{} --data {} {} 2>{}", feed,
                                      token.empty() ? "" : "LOA_TOKEN=" + shell_quote(token) + " ",
                                      LOA_LOACTL_BIN, shell_quote(data().string()), args,
                                      shell_quote(err.string())),
                          &run.status);
        run.err = read_file(err);
        return run;
    }

    /// Requires exit 0 and returns the JSON printed.
    nlohmann::json ok(const std::string& token, const std::string& args,
                      const std::string& input = "") {
        Run run = loactl(token, "--json " + args, input);
        INFO("loactl " << args << "\nstdout: " << run.out << "\nstderr: " << run.err);
        REQUIRE(run.status == 0);
        auto parsed = nlohmann::json::parse(run.out, nullptr, false);
        REQUIRE_FALSE(parsed.is_discarded());
        return parsed;
    }

    /// Requires exit 1 (refused) and returns what loactl said on stderr.
    std::string refused(const std::string& token, const std::string& args,
                        const std::string& input = "") {
        Run run = loactl(token, args, input);
        INFO("loactl " << args << "\nstdout: " << run.out << "\nstderr: " << run.err);
        CHECK(run.status == 1);
        CHECK(run.err.starts_with("loactl: "));
        return run.err;
    }

    /// A user made by `admin`, signed in: their token.
    std::string user(const std::string& admin, const std::string& name, const std::string& role,
                     const std::string& area) {
        const std::string password = "mat-khau-" + name;
        ok(admin, fmt::format("user add {} --role {} --area {} --password-stdin", name, role, area),
           password);
        return ok("", "login " + name + " --password-stdin", password)["token"];
    }

    /// A tone imported by `token`'s holder: its hash, still pending approval.
    std::string tone(const std::string& token, double frequency) {
        const auto file = dir_ / fmt::format("tone-{}.wav", frequency);
        make_tone(file, 2.0, 22050, frequency);
        auto imported =
            ok(token, "media import --title 'Bản tin xã' " + shell_quote(file.string()));
        CHECK(imported["approval"] == "pending");
        return imported["media_hash"];
    }

    std::string book(const std::string& id, const std::string& hash, const std::string& area) {
        return fmt::format(
            "campaign add {} --name 'Phòng chống thiên tai' --item {} --area {} --start now+1h "
            "--end now+2h",
            id, hash, area);
    }

    std::filesystem::path data() const { return dir_ / "data"; }

  private:
    TempDir dir_;
};

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

/// The rows of the action log with this action, actor and outcome.
std::vector<nlohmann::json> rows(const nlohmann::json& log, const std::string& action,
                                 const std::string& actor, const std::string& outcome) {
    std::vector<nlohmann::json> found;
    for (const auto& row : log) {
        if (row["action"] == action && row["actor"] == actor && row["outcome"] == outcome) {
            found.push_back(row);
        }
    }
    return found;
}

}  // namespace

TEST_CASE(
    "people: a commune operator stays in its commune, items air only once approved, and "
    "the action log records every change and refusal") {
    Controller c;
    // Nothing works without a token, and says how to begin.
    CHECK(contains(c.refused("", "node list"), "loactl user add NAME --role admin --area /"));
    // The first admin needs none; the second user does.
    c.ok("", "user add quan-tri --role admin --area / --password-stdin", "mat-khau-quan-tri");
    CHECK(contains(c.refused("", "user add khac --role admin --area / --password-stdin"),
                   "sign in first"));
    CHECK(contains(c.refused("", "login quan-tri --password-stdin", "sai-mat-khau"),
                   "wrong user name or password"));
    const std::string admin =
        c.ok("", "login quan-tri --password-stdin", "mat-khau-quan-tri")["token"];

    c.ok(admin, fmt::format("node add ta-van-01 --kind speaker --area {}", kTaVan));
    c.ok(admin, fmt::format("node add a-mu-sung-01 --kind speaker --area {}", kAMuSung));
    const std::string op_a = c.user(admin, "op-ta-van", "operator", kTaVan);
    const std::string op_b = c.user(admin, "op-a-mu-sung", "operator", kAMuSung);
    const std::string approver = c.user(admin, "duyet", "approver", "vn/lao-cai");
    const std::string auditor = c.user(admin, "kiem-tra", "auditor", "/");

    // An unapproved item cannot be booked; nothing is stored.
    const std::string bulletin = c.tone(op_a, 440);
    const std::string not_approved = c.refused(op_a, c.book("thien-tai", bulletin, kTaVan));
    CHECK(contains(not_approved, "chưa được phê duyệt"));
    CHECK(contains(not_approved, "not approved"));
    CHECK(contains(not_approved, bulletin.substr(0, 12)));
    CHECK(c.ok(admin, "campaign list").empty());
    // Operators do not approve; the approver does, and then it books.
    CHECK(contains(c.refused(op_a, "media approve " + bulletin), "approve or reject media"));
    auto approved = c.ok(approver, "media approve " + bulletin + " --note 'đã nghe'");
    CHECK(approved["approval"] == "approved");
    CHECK(approved["decided_by"] == "duyet");
    CHECK(contains(c.refused(approver, c.book("thien-tai", bulletin, kTaVan)), "schedule plays"));
    auto booked = c.ok(op_a, c.book("thien-tai", bulletin, kTaVan));
    CHECK(booked["nodes_targeted"] == 1);

    // Commune B's own campaign.
    const std::string b_bulletin = c.tone(op_b, 660);
    c.ok(approver, "media approve " + b_bulletin);
    c.ok(op_b, c.book("a-mu-sung", b_bulletin, kAMuSung));

    // Commune A's operator sees only commune A: nodes, campaigns, media, reports.
    auto nodes = c.ok(op_a, "node list");
    REQUIRE(nodes.size() == 1);
    CHECK(nodes[0]["node"] == "ta-van-01");
    CHECK(c.ok(op_a, "node status").size() == 1);
    auto campaigns = c.ok(op_a, "campaign list");
    REQUIRE(campaigns.size() == 1);
    CHECK(campaigns[0]["campaign"] == "thien-tai");
    auto media = c.ok(op_a, "media list");
    REQUIRE(media.size() == 1);
    CHECK(media[0]["media_hash"] == bulletin);
    CHECK(c.ok(admin, "node list").size() == 2);
    const std::string report = "report airtime --from now-1h --to now+3h --campaign ";
    CHECK(contains(c.refused(op_a, report + "a-mu-sung"), "outside its scope"));
    CHECK(
        contains(c.refused(op_a, report + "thien-tai --area " + std::string(kAMuSung)), kAMuSung));
    CHECK(c.ok(op_a, report + "thien-tai")["total"]["planned_plays"] == 1);
    CHECK(contains(c.refused(op_a, "node status --node a-mu-sung-01"), "outside its scope"));

    // … and cannot change commune B: nothing is stored.
    const std::string into_b = c.refused(op_a, c.book("xam-nhap", bulletin, kAMuSung));
    CHECK(contains(into_b, "không được phép"));
    CHECK(contains(into_b, "op-ta-van"));
    CHECK(contains(into_b, "may not schedule plays in " + std::string(kAMuSung)));
    CHECK(contains(c.refused(op_a, c.book("xam-nhap", b_bulletin, kTaVan)),
                   "outside the scope of 'op-ta-van'"));
    CHECK(c.ok(admin, "campaign list").size() == 2);
    CHECK(contains(c.refused(op_a, "node volume a-mu-sung-01 10"), "send commands to nodes"));
    CHECK(c.ok(admin, "node commands").empty());
    CHECK(contains(
        c.refused(op_a, "node add lan-sang --kind speaker --area " + std::string(kAMuSung)),
        "outside its scope"));
    CHECK(contains(
        c.refused(op_a, fmt::format("emergency send --media {} --nodes a-mu-sung-01", b_bulletin)),
        "outside the scope"));
    CHECK(contains(c.refused(op_a, "emergency send --media " + bulletin + " --all"), "every area"));
    CHECK(c.ok(admin, "emergency list").empty());

    // The auditor reads everywhere and changes nothing.
    CHECK(c.ok(auditor, "node list").size() == 2);
    CHECK(c.ok(auditor, report + "a-mu-sung")["total"]["planned_plays"] == 1);
    const auto file = c.data().parent_path() / "tone-440.wav";
    CHECK(contains(c.refused(auditor, "media import " + shell_quote(file.string())),
                   "the auditor role does not include it"));
    CHECK(contains(c.refused(auditor, c.book("kiem-tra", bulletin, kTaVan)), "schedule plays"));
    CHECK(contains(c.refused(op_a, "log list"), "read the action log"));

    // A revoked token is refused.
    auto tokens = c.ok(op_a, "token list");
    REQUIRE(tokens.size() == 1);
    const int token_id = tokens[0]["token_id"];
    c.ok(admin, fmt::format("token revoke {}", token_id));
    CHECK(contains(c.refused(op_a, "node list"), "has been revoked"));
    CHECK(contains(c.refused(op_a, c.book("sau-thu-hoi", bulletin, kTaVan)), "revoked"));

    // The action log: who, when, what — each change and each refusal.
    auto log = c.ok(auditor, "log list");
    INFO(log.dump(1));
    for (const auto& row : log) {
        CHECK(row["at"].get<std::string>().size() >= 19);
        CHECK_FALSE(row["actor"].get<std::string>().empty());
    }
    auto users = rows(log, "user.add", "quan-tri", "done");
    REQUIRE(users.size() == 5);  // itself, first and without a token; then four people
    CHECK(users[0]["target"] == "quan-tri");
    CHECK(users[0]["detail"]["bootstrap"] == true);
    CHECK(users[1]["target"] == "op-ta-van");
    CHECK(users[1]["detail"]["bootstrap"] == false);
    CHECK(users[1]["area"] == kTaVan);
    CHECK(rows(log, "access.refused", "quan-tri", "refused").size() == 1);  // wrong password
    CHECK(rows(log, "token.issue", "op-ta-van", "done").size() == 1);
    CHECK(rows(log, "node.add", "quan-tri", "done").size() == 2);
    auto imports = rows(log, "media.import", "op-ta-van", "done");
    REQUIRE(imports.size() == 1);
    CHECK(imports[0]["target"] == bulletin);
    CHECK(imports[0]["area"] == kTaVan);
    auto approvals = rows(log, "media.approve", "duyet", "done");
    REQUIRE(approvals.size() == 2);
    CHECK(approvals[0]["target"] == bulletin);
    CHECK(approvals[0]["role"] == "approver");
    CHECK(approvals[0]["detail"]["note"] == "đã nghe");
    CHECK(rows(log, "media.approve", "op-ta-van", "refused").size() == 1);
    auto books = rows(log, "campaign.book", "op-ta-van", "done");
    REQUIRE(books.size() == 1);
    CHECK(books[0]["target"] == "thien-tai");
    CHECK(books[0]["area"] == kTaVan);
    auto refusals = rows(log, "campaign.book", "op-ta-van", "refused");
    REQUIRE(refusals.size() == 3);  // not approved, into commune B, commune B's media
    CHECK(contains(refusals[0]["detail"]["reason"], "not approved"));
    CHECK(refusals[1]["target"] == "xam-nhap");
    CHECK(refusals[1]["area"] == kAMuSung);
    CHECK(contains(refusals[1]["detail"]["reason"], "outside its scope"));
    CHECK(rows(log, "node.command", "op-ta-van", "refused").size() == 1);
    CHECK(rows(log, "node.add", "op-ta-van", "refused").size() == 1);
    CHECK(rows(log, "emergency.send", "op-ta-van", "refused").size() == 2);
    CHECK(rows(log, "media.import", "kiem-tra", "refused").size() == 1);
    CHECK(rows(log, "campaign.book", "kiem-tra", "refused").size() == 1);
    CHECK(rows(log, "campaign.book", "duyet", "refused").size() == 1);
    CHECK(rows(log, "token.revoke", "quan-tri", "done").size() == 1);
    // Reads refused, and the revoked token, named by its holder.
    auto reads = rows(log, "access.refused", "op-ta-van", "refused");
    REQUIRE(reads.size() >= 5);
    bool revoked_logged = false;
    for (const auto& r : reads) {
        revoked_logged |= contains(r["detail"]["reason"], "revoked");
    }
    CHECK(revoked_logged);
    CHECK(rows(log, "access.refused", "unknown", "refused").size() >= 2);

    // Filters, and a scoped auditor sees only its commune's rows.
    for (const auto& row : c.ok(auditor, "log list --action campaign --actor op-ta-van")) {
        CHECK(row["action"] == "campaign.book");
    }
    const std::string auditor_b = c.user(admin, "kiem-tra-b", "auditor", kAMuSung);
    for (const auto& row : c.ok(auditor_b, "log list")) {
        CHECK(row["area"].get<std::string>().starts_with(kAMuSung));
    }
    // The table for people.
    Run table = c.loactl(auditor, "log list --action campaign.book");
    CHECK(table.status == 0);
    CHECK(contains(table.out, "TỪ CHỐI"));
    CHECK(contains(c.loactl(auditor, "log list --lang en --limit 3").out, "Outcome"));
}

TEST_CASE("people: a disabled user is refused, and only an admin of the scope manages people") {
    Controller c;
    c.ok("", "user add quan-tri --role admin --area / --password-stdin", "mat-khau-quan-tri");
    const std::string admin =
        c.ok("", "login quan-tri --password-stdin", "mat-khau-quan-tri")["token"];
    const std::string district = c.user(admin, "qt-sa-pa", "admin", "vn/lao-cai/sa-pa");
    // A district admin adds people below it, not beside or above it.
    c.user(district, "op-ta-van", "operator", kTaVan);
    CHECK(contains(c.refused(district, fmt::format("user add op-b --role operator --area {} "
                                                   "--password-stdin",
                                                   kAMuSung)),
                   "manage people"));
    CHECK(c.ok(district, "user list").size() == 2);
    CHECK(c.ok(admin, "user list").size() == 3);
    // A token for someone else; then disabling them refuses it.
    const std::string issued =
        c.ok(district, "token issue --user op-ta-van --expires now+1h")["token"];
    CHECK(c.ok(issued, "node list").empty());
    c.ok(district, "user disable op-ta-van");
    CHECK(contains(c.refused(issued, "node list"), "is disabled"));
    CHECK(contains(c.refused("", "login op-ta-van --password-stdin", "mat-khau-op-ta-van"),
                   "is disabled"));
    CHECK(contains(c.refused(district, "user disable qt-sa-pa"), "yourself"));
}

TEST_CASE(
    "people: loactl user password changes your own with the current one, an admin's for you") {
    Controller c;
    c.ok("", "user add quan-tri --role admin --area / --password-stdin", "mat-khau-quan-tri");
    const std::string admin =
        c.ok("", "login quan-tri --password-stdin", "mat-khau-quan-tri")["token"];
    const std::string op = c.user(admin, "op-ta-van", "operator", kTaVan);
    const std::string other =
        c.ok("", "login op-ta-van --password-stdin", "mat-khau-op-ta-van")["token"];

    // Your own: the current password on the first line, the new one on the second.
    CHECK(contains(c.refused(op, "user password --password-stdin", "sai-mat-khau\nmat-khau-moi-1"),
                   "current password"));
    auto changed = c.ok(op, "user password --password-stdin", "mat-khau-op-ta-van\nmat-khau-moi-1");
    CHECK(changed["user"] == "op-ta-van");
    CHECK(changed["revoked_tokens"] == 1);  // the other login's; this one goes on
    CHECK(contains(c.refused(other, "node list"), "revoked"));
    CHECK(c.ok(op, "node list").empty());
    CHECK(contains(c.refused("", "login op-ta-van --password-stdin", "mat-khau-op-ta-van"),
                   "wrong user name or password"));

    // An admin sets it without knowing it; every token of the person is revoked.
    Run table =
        c.loactl(admin, "user password op-ta-van --password-stdin --lang en", "mat-khau-moi-2");
    INFO(table.out << table.err);
    CHECK(table.status == 0);
    CHECK(contains(table.out, "password of 'op-ta-van' changed"));
    CHECK(contains(c.refused(op, "node list"), "revoked"));
    c.ok("", "login op-ta-van --password-stdin", "mat-khau-moi-2");
    // Not an admin: someone else's is refused, and the line says why.
    CHECK(
        contains(c.refused(c.ok("", "login op-ta-van --password-stdin", "mat-khau-moi-2")["token"],
                           "user password quan-tri --password-stdin", "mat-khau-lay-cap"),
                 "manage people"));
    auto log = c.ok(admin, "log list --action user.password");
    CHECK(rows(log, "user.password", "op-ta-van", "done").size() == 1);
    CHECK(rows(log, "user.password", "quan-tri", "done").size() == 1);
    CHECK(log.dump().find("mat-khau-moi") == std::string::npos);
}

TEST_CASE(
    "people: a commune's bulletin airs province-wide only once shared with the province "
    "and approved there") {
    Controller c;
    c.ok("", "user add quan-tri --role admin --area / --password-stdin", "mat-khau-quan-tri");
    const std::string admin =
        c.ok("", "login quan-tri --password-stdin", "mat-khau-quan-tri")["token"];
    c.ok(admin, fmt::format("node add ta-van-01 --kind speaker --area {}", kTaVan));
    c.ok(admin, fmt::format("node add a-mu-sung-01 --kind speaker --area {}", kAMuSung));
    const std::string op_a = c.user(admin, "op-ta-van", "operator", kTaVan);
    const std::string approver_a = c.user(admin, "duyet-ta-van", "approver", kTaVan);
    const std::string op_province = c.user(admin, "op-tinh", "operator", "vn/lao-cai");
    const std::string approver_province = c.user(admin, "duyet-tinh", "approver", "vn/lao-cai");

    const std::string bulletin = c.tone(op_a, 440);
    CHECK(c.ok(approver_a, "media approve " + bulletin)["area"] == kTaVan);
    const std::string provincial = fmt::format(
        "campaign add toan-tinh --name 'Toàn tỉnh' --item {} --area vn/lao-cai --start now+1h "
        "--end now+2h",
        bulletin);
    // Tả Van's approval covers Tả Van: the refusal says how to bring the file to the province.
    const std::string refused = c.refused(op_province, provincial);
    CHECK(contains(refused, "not approved for air in vn/lao-cai"));
    CHECK(contains(refused, "loactl media share " + bulletin + " --area vn/lao-cai"));
    CHECK(c.ok(admin, "campaign list").empty());

    auto shared = c.ok(op_province, "media share " + bulletin + " --area vn/lao-cai");
    CHECK(shared["area"] == "vn/lao-cai");
    CHECK(shared["approval"] == "pending");
    CHECK(shared["via"] == "share");
    CHECK(contains(c.refused(op_province, provincial), "pending"));
    // Two records in the provincial approver's scope: which one must be said.
    CHECK(contains(c.refused(approver_province, "media approve " + bulletin), "--area"));
    auto approved =
        c.ok(approver_province, "media approve " + bulletin + " --area vn/lao-cai --note 'ok'");
    CHECK(approved["area"] == "vn/lao-cai");
    CHECK(c.ok(op_province, provincial)["nodes_targeted"] == 2);

    // The list shows each record with its area and approval; Tả Van sees the province's too.
    auto listed = c.ok(op_province, "media list");
    REQUIRE(listed.size() == 2);
    for (const auto& row : listed) {
        CHECK(row["approval"] == "approved");
    }
    CHECK(c.ok(op_a, "media list").size() == 2);
    const auto table = c.loactl(op_province, "media list --lang en");
    CHECK(contains(table.out, "vn/lao-cai "));
    CHECK(contains(table.out, kTaVan));
}

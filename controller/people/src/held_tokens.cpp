// Tokens of sign-ins made while the disk was full: checked from memory, written once there is room.
#include "loa/controller/people/held_tokens.hpp"

#include <memory>
#include <vector>

#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include "loa/controller/people/action_log.hpp"

namespace loa::controller {

namespace {

/// How often write_later tries while tokens are held.
constexpr std::int64_t kRetryUs = 5'000'000;

}  // namespace

Result<std::string> HeldTokens::hold(const Principal& who, std::string label,
                                     std::optional<std::int64_t> expires_us, std::int64_t now,
                                     std::string request_id) {
    auto secret = new_token_secret();
    if (!secret) {
        return std::unexpected(secret.error());
    }
    std::lock_guard lock(state_->mutex);
    auto& held = state_->held;
    if (held.size() >= kMaxHeld) {
        return fail(Error::Code::storage_full,
                    storage_full_message(fmt::format(
                        "đăng nhập (đã giữ {} mã truy cập trong bộ nhớ) / sign-in ({} tokens are "
                        "held in memory already)",
                        kMaxHeld, kMaxHeld)));
    }
    Held entry{who, *secret, std::move(label), expires_us, now, std::move(request_id), false};
    entry.who.token_id = 0;
    held.emplace(token_hash(*secret), std::move(entry));
    spdlog::warn(
        "people: the disk is full: a token for '{}' is held in memory until it can be "
        "written ({} held)",
        who.name, held.size());
    return secret;
}

std::optional<Result<Principal>> HeldTokens::authenticate(SQLite::Database& db,
                                                          std::string_view secret, std::int64_t now,
                                                          std::int64_t max_lifetime_us) {
    Principal who;
    std::optional<std::int64_t> expires_us;
    std::int64_t issued_us = 0;
    {
        std::lock_guard lock(state_->mutex);
        auto& held = state_->held;
        if (held.empty()) {
            return std::nullopt;
        }
        auto it = held.find(token_hash(secret));
        if (it == held.end()) {
            return std::nullopt;
        }
        who = it->second.who;
        expires_us = it->second.expires_us;
        issued_us = it->second.issued_us;
    }
    if ((expires_us && *expires_us <= now) ||
        (max_lifetime_us > 0 && now - issued_us >= max_lifetime_us)) {
        return fail(Error::Code::forbidden,
                    fmt::format("mã truy cập của '{}' đã hết hạn / the API token of '{}' has "
                                "expired",
                                who.name, who.name));
    }
    auto user = find_user(db, who.name);
    if (!user) {
        return std::unexpected(user.error());
    }
    if (user->disabled_us) {
        return fail(Error::Code::forbidden,
                    fmt::format("người dùng '{}' đã bị vô hiệu hoá / user '{}' is disabled",
                                who.name, who.name));
    }
    return who;
}

void HeldTokens::write_later(Writer& writer, std::int64_t now) {
    auto batch = std::make_shared<std::vector<std::pair<std::string, Held>>>();
    {
        std::lock_guard lock(state_->mutex);
        if (state_->held.empty() || now - state_->last_try_us < kRetryUs) {
            return;
        }
        state_->last_try_us = now;
        for (auto& [hash, entry] : state_->held) {
            if (!entry.writing) {
                entry.writing = true;
                batch->emplace_back(hash, entry);
            }
        }
    }
    if (batch->empty()) {
        return;
    }
    writer.post(
        [batch](WriteTx& tx) -> Result<void> {
            for (auto& [hash, entry] : *batch) {
                auto recorded = record_token(tx, entry.secret, entry.who.user_id, entry.label,
                                             entry.expires_us, entry.issued_us);
                if (!recorded) {
                    return std::unexpected(recorded.error());
                }
                nlohmann::json detail{{"token_id", recorded->token.token_id},
                                      {"label", recorded->token.label},
                                      {"via", "login"},
                                      {"held_while_disk_full", true},
                                      {"request_id", entry.request_id}};
                auto logged =
                    record_action(tx, entry.who, "token.issue", entry.who.name, entry.who.area,
                                  Outcome::done, std::move(detail), entry.issued_us);
                if (!logged) {
                    return std::unexpected(logged.error());
                }
            }
            return {};
        },
        [weak = std::weak_ptr<State>(state_), batch](const Result<void>& stored) {
            auto state = weak.lock();
            if (!state) {
                return;  // the API server is gone; so are the tokens it held
            }
            std::lock_guard lock(state->mutex);
            for (auto& [hash, entry] : *batch) {
                auto it = state->held.find(hash);
                if (it == state->held.end()) {
                    continue;
                }
                if (stored) {
                    state->held.erase(it);
                } else {
                    it->second.writing = false;  // tried again at the next write_later
                }
            }
            if (stored) {
                spdlog::info("people: {} token(s) held while the disk was full are written",
                             batch->size());
            }
        });
}

std::size_t HeldTokens::size() const {
    std::lock_guard lock(state_->mutex);
    return state_->held.size();
}

}  // namespace loa::controller

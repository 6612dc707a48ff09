// API tokens a sign-in issued while the controller's disk was full: held in memory and valid at
// once, written to the database (with their action-log rows) as soon as there is room again.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include <SQLiteCpp/Database.h>

#include "loa/controller/common/error.hpp"
#include "loa/controller/people/people.hpp"
#include "loa/controller/store/writer.hpp"

namespace loa::controller {

/// A full disk must not lock people out of a controller they need to look at (docs/people.md):
/// a sign-in whose token cannot be written gets a token held here. Only the tokens' hashes are
/// kept. A restart before they are written forgets them (sign in again). One per API server.
class HeldTokens {
  public:
    /// At most this many held at once (memory stays flat); past it a sign-in is refused 507.
    static constexpr std::size_t kMaxHeld = 64;

    /// A new token for `who`, held; its secret, or storage_full when kMaxHeld are held.
    Result<std::string> hold(const Principal& who, std::string label,
                             std::optional<std::int64_t> expires_us, std::int64_t now,
                             std::string request_id);

    /// The person a held token stands for (its token_id is 0 until written); nullopt when
    /// `secret` is not held here. Checked as authenticate_token checks a stored token: expiry,
    /// the longest lifetime, the person disabled since (read through `db`).
    std::optional<Result<Principal>> authenticate(SQLite::Database& db, std::string_view secret,
                                                  std::int64_t now, std::int64_t max_lifetime_us);

    /// Queues the held tokens to `writer`, without waiting, at most once per 5 s: each written
    /// with its token.issue row, and forgotten here once committed. Nothing when none is held.
    void write_later(Writer& writer, std::int64_t now);

    std::size_t size() const;

  private:
    struct Held {
        Principal who;
        std::string secret;  ///< recorded as its hash only, like every token
        std::string label;
        std::optional<std::int64_t> expires_us;
        std::int64_t issued_us = 0;
        std::string request_id;
        bool writing = false;  ///< queued to the writer, not yet committed
    };
    struct State {
        std::mutex mutex;
        std::map<std::string, Held> held;  ///< by token hash
        std::int64_t last_try_us = 0;
    };
    /// Shared with the writer's answer to write_later, which may come after this is gone.
    std::shared_ptr<State> state_ = std::make_shared<State>();
};

}  // namespace loa::controller

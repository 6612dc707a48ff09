// Opening the controller database and its schema migrations, one step per version.
#include "loa/controller/database.hpp"

#include <array>
#include <string_view>

#include <SQLiteCpp/Statement.h>

namespace loa::controller {

namespace {

// Migration N brings the schema from version N-1 to N. Never edit a released step; add one.
constexpr std::array<std::string_view, kSchemaVersion> kMigrations = {
    R"sql(
    CREATE TABLE nodes (
        node_id TEXT PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('speaker', 'panel')),
        area_path TEXT NOT NULL,
        time_zone TEXT NOT NULL,
        created_us INTEGER NOT NULL,
        last_seen_us INTEGER,
        agent_version TEXT,
        acked_timeline_hash TEXT
    );
    CREATE TABLE media (
        media_hash TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        original_name TEXT NOT NULL,
        container TEXT NOT NULL,
        codec TEXT NOT NULL,
        sample_rate INTEGER NOT NULL,
        channels INTEGER NOT NULL,
        duration_us INTEGER NOT NULL,
        size_bytes INTEGER NOT NULL,
        imported_us INTEGER NOT NULL
    );
    CREATE TABLE campaigns (
        campaign_id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        owner TEXT NOT NULL,
        window_start_us INTEGER NOT NULL,
        window_end_us INTEGER NOT NULL,
        booked_us INTEGER NOT NULL,
        CHECK (window_end_us > window_start_us)
    );
    CREATE TABLE campaign_items (
        campaign_id TEXT NOT NULL REFERENCES campaigns(campaign_id),
        position INTEGER NOT NULL,
        media_hash TEXT NOT NULL REFERENCES media(media_hash),
        PRIMARY KEY (campaign_id, position)
    );
    CREATE TABLE campaign_areas (
        campaign_id TEXT NOT NULL REFERENCES campaigns(campaign_id),
        area_path TEXT NOT NULL,
        PRIMARY KEY (campaign_id, area_path)
    );
    -- The planned schedule: one row per play a node is asked to make.
    CREATE TABLE slots (
        node_id TEXT NOT NULL REFERENCES nodes(node_id),
        slot_id TEXT NOT NULL,
        campaign_id TEXT NOT NULL,
        item_id TEXT NOT NULL,
        media_hash TEXT NOT NULL,
        title TEXT NOT NULL,
        start_us INTEGER NOT NULL,
        duration_us INTEGER NOT NULL,
        PRIMARY KEY (node_id, slot_id)
    );
    CREATE INDEX slots_by_campaign ON slots (campaign_id, start_us);
    CREATE INDEX slots_by_node_time ON slots (node_id, start_us);
    -- What nodes report they did. Rows keep what they referred to (campaign, media, area), so
    -- reports never change when those are edited later.
    CREATE TABLE confirmations (
        node_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        slot_id TEXT NOT NULL,
        campaign_id TEXT NOT NULL,
        item_id TEXT NOT NULL,
        media_hash TEXT NOT NULL,
        area_path TEXT NOT NULL,
        planned_start_us INTEGER NOT NULL,
        actual_start_us INTEGER NOT NULL,
        actual_end_us INTEGER NOT NULL,
        outcome TEXT NOT NULL CHECK (outcome IN ('played', 'failed', 'skipped')),
        reason TEXT NOT NULL,
        received_us INTEGER NOT NULL,
        PRIMARY KEY (node_id, seq),
        UNIQUE (node_id, slot_id)
    );
    CREATE INDEX confirmations_by_campaign ON confirmations (campaign_id, planned_start_us);
    -- Confirmations a node sent that make no sense (e.g. a play ending before it started after a
    -- clock jump): kept with the reason and acked, so one bad row never blocks a node's outbox.
    CREATE TABLE refused_confirmations (
        node_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        reason TEXT NOT NULL,
        confirmation BLOB NOT NULL,
        received_us INTEGER NOT NULL,
        PRIMARY KEY (node_id, seq)
    );
    )sql",
    // Version 2: plans applied from plan files; their campaigns point at the plan.
    R"sql(
    CREATE TABLE plans (
        plan_id INTEGER PRIMARY KEY AUTOINCREMENT,
        source TEXT NOT NULL,
        text TEXT NOT NULL,
        from_date TEXT NOT NULL,
        days INTEGER NOT NULL,
        applied_us INTEGER NOT NULL,
        feasible INTEGER NOT NULL
    );
    ALTER TABLE campaigns ADD COLUMN plan_id INTEGER REFERENCES plans(plan_id);
    )sql",
    // Version 3: media rows name the canonical (normalised Ogg/Opus) file nodes play; the
    // operator's original is kept in the store too, with the loudness measured before and after.
    R"sql(
    ALTER TABLE media ADD COLUMN original_hash TEXT;
    ALTER TABLE media ADD COLUMN loudness_before_lufs REAL;
    ALTER TABLE media ADD COLUMN loudness_after_lufs REAL;
    ALTER TABLE media ADD COLUMN true_peak_after_dbtp REAL;
    CREATE UNIQUE INDEX media_by_original ON media (original_hash);
    )sql",
    // Version 4: media for panel boards, stored as imported: images and video, with their size in
    // pixels. Rows before this version are loudspeaker audio.
    R"sql(
    ALTER TABLE media ADD COLUMN kind TEXT NOT NULL DEFAULT 'audio'
        CHECK (kind IN ('audio', 'image', 'video'));
    ALTER TABLE media ADD COLUMN width INTEGER;
    ALTER TABLE media ADD COLUMN height INTEGER;
    )sql",
    // Version 5: what each node reports of its media prefetch (its last MediaStatus).
    R"sql(
    CREATE TABLE node_media (
        node_id TEXT NOT NULL REFERENCES nodes(node_id),
        media_hash TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('ready', 'fetching', 'queued', 'unavailable')),
        bytes_held INTEGER NOT NULL,
        total_size INTEGER NOT NULL,
        needed_at_us INTEGER NOT NULL,
        reported_us INTEGER NOT NULL,
        PRIMARY KEY (node_id, media_hash)
    );
    )sql",
    // Version 6: the fleet. Each node's latest heartbeat; commands to nodes (kept until the node
    // answers) and emergencies; confirmations gain what nodes measured, the outcome
    // 'interrupted' (cut short by an emergency: the part that aired counts) and emergency plays,
    // which have no booked slot. SQLite cannot change a CHECK, so confirmations are rebuilt.
    R"sql(
    CREATE TABLE node_status (
        node_id TEXT PRIMARY KEY REFERENCES nodes(node_id),
        received_us INTEGER NOT NULL,
        node_time_us INTEGER NOT NULL,
        state TEXT NOT NULL,
        current_slot_id TEXT NOT NULL,
        current_title TEXT NOT NULL,
        outbox_pending INTEGER NOT NULL,
        media_missing INTEGER NOT NULL,
        volume_percent INTEGER NOT NULL,
        storage_free_bytes INTEGER NOT NULL,
        cpu_temp_millicelsius INTEGER,
        link_interface TEXT NOT NULL,
        link_type TEXT NOT NULL,
        link_signal_dbm INTEGER,
        clock_offset_us INTEGER,
        clock_round_trip_us INTEGER NOT NULL,
        agent_version TEXT NOT NULL,
        schedule_horizon_end_us INTEGER NOT NULL,
        runway_end_us INTEGER NOT NULL,
        last_seq INTEGER NOT NULL,
        amplifier_on INTEGER NOT NULL
    );
    CREATE TABLE emergencies (
        emergency_id TEXT PRIMARY KEY,
        created_us INTEGER NOT NULL,
        media_hash TEXT NOT NULL REFERENCES media(media_hash),
        title TEXT NOT NULL,
        campaign_id TEXT REFERENCES campaigns(campaign_id),
        repeat INTEGER NOT NULL CHECK (repeat >= 1),
        until_expiry INTEGER NOT NULL,
        expires_us INTEGER NOT NULL,
        created_by TEXT,
        cancelled_us INTEGER
    );
    -- Orders for nodes. The command blob is the wire::Command sent, command_id and issued_us
    -- included; a command is sent again until the node's CommandResult is stored.
    CREATE TABLE commands (
        command_id INTEGER PRIMARY KEY AUTOINCREMENT,
        node_id TEXT NOT NULL REFERENCES nodes(node_id),
        issued_us INTEGER NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('emergency', 'cancel-emergency', 'set-volume',
                                           'set-amplifier', 'restart', 'send-log')),
        command BLOB NOT NULL,
        emergency_id TEXT REFERENCES emergencies(emergency_id),
        expires_us INTEGER,
        state TEXT NOT NULL CHECK (state IN ('pending', 'done', 'expired', 'cancelled')),
        ok INTEGER,
        message TEXT,
        log_tail BLOB,
        done_us INTEGER,
        result_received_us INTEGER
    );
    CREATE INDEX commands_by_node_state ON commands (node_id, state);
    CREATE INDEX commands_by_emergency ON commands (emergency_id);
    CREATE TABLE confirmations_v6 (
        node_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        slot_id TEXT NOT NULL,
        campaign_id TEXT NOT NULL,
        item_id TEXT NOT NULL,
        media_hash TEXT NOT NULL,
        area_path TEXT NOT NULL,
        planned_start_us INTEGER NOT NULL,
        actual_start_us INTEGER NOT NULL,
        actual_end_us INTEGER NOT NULL,
        outcome TEXT NOT NULL
            CHECK (outcome IN ('played', 'failed', 'skipped', 'interrupted')),
        reason TEXT NOT NULL,
        received_us INTEGER NOT NULL,
        rms_dbfs REAL,
        peak_dbfs REAL,
        silent_seconds REAL,
        measured_seconds REAL,
        silence_threshold_dbfs REAL,
        frames_rendered INTEGER NOT NULL DEFAULT 0,
        offset_us INTEGER NOT NULL DEFAULT 0,
        emergency_id TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (node_id, seq),
        UNIQUE (node_id, slot_id)
    );
    INSERT INTO confirmations_v6 (node_id, seq, slot_id, campaign_id, item_id, media_hash,
        area_path, planned_start_us, actual_start_us, actual_end_us, outcome, reason, received_us)
    SELECT node_id, seq, slot_id, campaign_id, item_id, media_hash, area_path, planned_start_us,
        actual_start_us, actual_end_us, outcome, reason, received_us FROM confirmations;
    DROP TABLE confirmations;
    ALTER TABLE confirmations_v6 RENAME TO confirmations;
    CREATE INDEX confirmations_by_campaign ON confirmations (campaign_id, planned_start_us);
    )sql",
    // 7: security (issue 6): enrolled node keys, enrollment tokens, people, API tokens, approval
    // of media for air, and the append-only action log.
    R"sql(
    ALTER TABLE nodes ADD COLUMN revoked_us INTEGER;
    -- A node's identity is its CURVE key. Rotation adds a key and retires the old one, so the
    -- node (and its history) stays; revocation retires every key of the node.
    CREATE TABLE node_keys (
        public_key TEXT PRIMARY KEY,  -- Z85, 40 characters
        node_id TEXT NOT NULL REFERENCES nodes(node_id),
        enrolled_us INTEGER NOT NULL,
        retired_us INTEGER,
        retired_reason TEXT
    );
    CREATE INDEX node_keys_by_node ON node_keys (node_id);
    -- One-time enrollment tokens; only a hash of the secret is kept.
    CREATE TABLE enrollment_tokens (
        token_hash TEXT PRIMARY KEY,
        node_id TEXT NOT NULL REFERENCES nodes(node_id),
        created_us INTEGER NOT NULL,
        created_by TEXT NOT NULL,
        expires_us INTEGER NOT NULL,
        used_us INTEGER,
        used_key TEXT
    );
    CREATE TABLE users (
        user_id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        display_name TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'approver', 'auditor')),
        area_path TEXT NOT NULL,      -- the subtree this person sees and touches
        password_hash TEXT NOT NULL,  -- libsodium crypto_pwhash_str (Argon2id)
        created_us INTEGER NOT NULL,
        disabled_us INTEGER
    );
    CREATE TABLE api_tokens (
        token_id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(user_id),
        token_hash TEXT NOT NULL UNIQUE,  -- only a hash of the secret is kept
        label TEXT NOT NULL,
        created_us INTEGER NOT NULL,
        expires_us INTEGER,
        revoked_us INTEGER,
        last_used_us INTEGER
    );
    -- Who did what, when: every change by a person and every security refusal. Never updated
    -- or deleted (the triggers refuse it).
    CREATE TABLE action_log (
        action_id INTEGER PRIMARY KEY AUTOINCREMENT,
        at_us INTEGER NOT NULL,
        actor TEXT NOT NULL,       -- a user name, "node:<id>", "key:<prefix>" or "system"
        actor_role TEXT NOT NULL,  -- admin/operator/approver/auditor, node or system
        action TEXT NOT NULL,      -- e.g. "media.import", "node.enroll", "node.refused"
        target TEXT NOT NULL,
        area_path TEXT NOT NULL,
        outcome TEXT NOT NULL CHECK (outcome IN ('done', 'refused')),
        detail TEXT NOT NULL       -- JSON object
    );
    CREATE INDEX action_log_by_time ON action_log (at_us);
    CREATE TRIGGER action_log_no_update BEFORE UPDATE ON action_log
    BEGIN SELECT RAISE(ABORT, 'the action log is append-only'); END;
    CREATE TRIGGER action_log_no_delete BEFORE DELETE ON action_log
    BEGIN SELECT RAISE(ABORT, 'the action log is append-only'); END;
    -- Only approved media may be scheduled ("thẩm định"); each decision is kept.
    ALTER TABLE media ADD COLUMN approval TEXT NOT NULL DEFAULT 'pending'
        CHECK (approval IN ('pending', 'approved', 'rejected'));
    -- The area scope media was imported in ('/' : every area): people see the media of their
    -- subtree and of the areas above it, and approve what lies in their subtree.
    ALTER TABLE media ADD COLUMN area_path TEXT NOT NULL DEFAULT '/';
    CREATE INDEX action_log_by_actor ON action_log (actor, at_us);
    CREATE TABLE approvals (
        decision_id INTEGER PRIMARY KEY AUTOINCREMENT,
        media_hash TEXT NOT NULL REFERENCES media(media_hash),
        decided_us INTEGER NOT NULL,
        decided_by TEXT NOT NULL,
        decision TEXT NOT NULL CHECK (decision IN ('approved', 'rejected')),
        note TEXT NOT NULL
    );
    )sql",
};

}  // namespace

int schema_version(SQLite::Database& db) {
    SQLite::Statement q(db, "SELECT version FROM schema_version");
    return q.executeStep() ? q.getColumn(0).getInt() : 0;
}

Result<std::unique_ptr<SQLite::Database>> open_database(const std::filesystem::path& file) {
    try {
        if (file.has_parent_path()) {
            std::filesystem::create_directories(file.parent_path());
        }
        auto db = std::make_unique<SQLite::Database>(file.string(),
                                                     SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        db->setBusyTimeout(10000);
        db->exec("PRAGMA journal_mode=WAL");
        // FULL: a confirmation is acked to its node right after commit, so the commit must be
        // on disk before the ack leaves; a lost acked confirmation could never be re-sent.
        db->exec("PRAGMA synchronous=FULL");
        db->exec("PRAGMA foreign_keys=ON");
        db->exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
        int version = schema_version(*db);
        if (version > kSchemaVersion) {
            return fail(Error::Code::storage,
                        file.string() + ": schema version " + std::to_string(version) +
                            " is newer than this controller's " + std::to_string(kSchemaVersion));
        }
        for (; version < kSchemaVersion; ++version) {
            SQLite::Transaction step(*db);
            db->exec(std::string(kMigrations[version]));
            db->exec("DELETE FROM schema_version");
            db->exec("INSERT INTO schema_version VALUES (" + std::to_string(version + 1) + ")");
            step.commit();
        }
        return db;
    } catch (const std::exception& e) {
        return fail(Error::Code::storage, file.string() + ": " + e.what());
    }
}

}  // namespace loa::controller

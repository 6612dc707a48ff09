// Opening the controller database and its schema migrations, one step per version.
#include "loa/controller/store/database.hpp"

#include <array>
#include <chrono>
#include <random>
#include <string_view>
#include <thread>

#include <sqlite3.h>
#include <unistd.h>

#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>

#include "loa/controller/store/airtime_rollup.hpp"

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
    // 8: the airtime audit (issue 7, docs/audit.md). A rollup per campaign × node × local day
    // of the node, kept up to date in the transactions that book, take back and confirm plays,
    // so that a report reads days, not plays. Rows keep the area and the campaign name they
    // had when made: later edits never rewrite the past. Confirmations are append-only; a
    // booked play that has been confirmed can be neither taken back nor booked again.
    // Confirmations are rebuilt first: their outcome CHECK was an IN list, which SQLite
    // evaluates by building a temporary table for every row inserted. Slots become a table
    // clustered on (node, slot): the ingest looks every confirmation's slot up by that key.
    R"sql(
    CREATE TABLE slots_v8 (
        node_id TEXT NOT NULL REFERENCES nodes(node_id),
        slot_id TEXT NOT NULL,
        campaign_id TEXT NOT NULL,
        item_id TEXT NOT NULL,
        media_hash TEXT NOT NULL,
        title TEXT NOT NULL,
        start_us INTEGER NOT NULL,
        duration_us INTEGER NOT NULL,
        PRIMARY KEY (node_id, slot_id)
    ) WITHOUT ROWID;
    INSERT INTO slots_v8 SELECT * FROM slots;
    DROP TABLE slots;
    ALTER TABLE slots_v8 RENAME TO slots;
    CREATE INDEX slots_by_campaign ON slots (campaign_id, start_us);
    CREATE INDEX slots_by_node_time ON slots (node_id, start_us);
    CREATE TABLE confirmations_v8 (
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
        outcome TEXT NOT NULL CHECK (outcome = 'played' OR outcome = 'failed'
                                     OR outcome = 'skipped' OR outcome = 'interrupted'),
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
        -- 1: no booked slot when it arrived, and no emergency's (a slot the controller never
        -- booked). It stays so: a confirmed slot is neither taken back nor booked again.
        unbooked INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (node_id, seq),
        UNIQUE (node_id, slot_id)
    );
    INSERT INTO confirmations_v8 (node_id, seq, slot_id, campaign_id, item_id, media_hash,
        area_path, planned_start_us, actual_start_us, actual_end_us, outcome, reason,
        received_us, rms_dbfs, peak_dbfs, silent_seconds, measured_seconds,
        silence_threshold_dbfs, frames_rendered, offset_us, emergency_id, unbooked)
    SELECT c.node_id, c.seq, c.slot_id, c.campaign_id, c.item_id, c.media_hash, c.area_path,
        c.planned_start_us, c.actual_start_us, c.actual_end_us, c.outcome, c.reason,
        c.received_us, c.rms_dbfs, c.peak_dbfs, c.silent_seconds, c.measured_seconds,
        c.silence_threshold_dbfs, c.frames_rendered, c.offset_us, c.emergency_id,
        c.emergency_id = '' AND NOT EXISTS (SELECT 1 FROM slots s
                                            WHERE s.node_id = c.node_id AND s.slot_id = c.slot_id)
    FROM confirmations c;
    DROP TABLE confirmations;
    ALTER TABLE confirmations_v8 RENAME TO confirmations;
    -- Plays are read by campaign and time only where no slot leads to them (booked plays are
    -- found through slots): emergencies' and unbooked ones. Only they are indexed so, which
    -- spares the ingest a fourth index of every row.
    CREATE INDEX confirmations_unplanned ON confirmations (campaign_id, planned_start_us)
        WHERE emergency_id <> '' OR unbooked = 1;
    CREATE TABLE airtime_rollup (
        campaign_id TEXT NOT NULL,
        area_path TEXT NOT NULL,        -- the node's area when the row was made
        day_start_us INTEGER NOT NULL,  -- the node's local day as UTC [start, end)
        node_id TEXT NOT NULL,
        day_end_us INTEGER NOT NULL,
        local_day TEXT NOT NULL,        -- YYYY-MM-DD in the node's time zone
        campaign_name TEXT NOT NULL,    -- the campaign's name when the row was made
        planned_plays INTEGER NOT NULL DEFAULT 0,
        planned_us INTEGER NOT NULL DEFAULT 0,
        planned_end_us INTEGER NOT NULL DEFAULT 0,  -- the latest end of a play booked that day
        -- Confirmed plays of booked slots by bucket, with their planned microseconds.
        played INTEGER NOT NULL DEFAULT 0,
        played_us INTEGER NOT NULL DEFAULT 0,
        interrupted INTEGER NOT NULL DEFAULT 0,
        interrupted_us INTEGER NOT NULL DEFAULT 0,
        late INTEGER NOT NULL DEFAULT 0,
        late_us INTEGER NOT NULL DEFAULT 0,
        media_missing INTEGER NOT NULL DEFAULT 0,
        media_missing_us INTEGER NOT NULL DEFAULT 0,
        node_offline INTEGER NOT NULL DEFAULT 0,
        node_offline_us INTEGER NOT NULL DEFAULT 0,
        failed INTEGER NOT NULL DEFAULT 0,
        failed_us INTEGER NOT NULL DEFAULT 0,
        aired_us INTEGER NOT NULL DEFAULT 0,  -- what booked plays aired (played, interrupted)
        -- Plays that aired without a booked slot: emergencies sent for the campaign.
        unplanned_plays INTEGER NOT NULL DEFAULT 0,
        unplanned_us INTEGER NOT NULL DEFAULT 0,
        silent INTEGER NOT NULL DEFAULT 0,  -- aired plays whose peak stayed below -50 dBFS
        PRIMARY KEY (campaign_id, area_path, day_start_us, node_id)
    ) WITHOUT ROWID;
    CREATE UNIQUE INDEX airtime_rollup_by_node ON airtime_rollup (campaign_id, node_id,
                                                                  day_start_us);
    -- Per node: how far its confirmations have come, to tell plays that will still be reported
    -- from plays whose confirmation will not come.
    CREATE TABLE confirmation_marks (
        node_id TEXT PRIMARY KEY,
        received INTEGER NOT NULL,     -- sequence numbers received, stored or refused
        highest_seq INTEGER NOT NULL,
        reported_through_us INTEGER NOT NULL  -- latest planned start of a booked play confirmed
    );
    CREATE INDEX confirmations_silent ON confirmations (campaign_id, planned_start_us)
        WHERE peak_dbfs < -50.0;

    -- The day of a booked play is the node's local day. Booking code makes the row first, with
    -- the node's time zone; a play written straight into the table gets a UTC+7 day.
    CREATE TRIGGER slots_confirmed_not_rebooked BEFORE INSERT ON slots
    WHEN EXISTS (SELECT 1 FROM confirmations WHERE node_id = NEW.node_id AND slot_id = NEW.slot_id)
    BEGIN SELECT RAISE(IGNORE); END;
    CREATE TRIGGER slots_rollup_booked AFTER INSERT ON slots BEGIN
        INSERT OR IGNORE INTO airtime_rollup (campaign_id, area_path, day_start_us, node_id,
            day_end_us, local_day, campaign_name)
        SELECT NEW.campaign_id, coalesce((SELECT area_path FROM nodes
                                          WHERE node_id = NEW.node_id), ''),
            d, NEW.node_id, d + 86400000000, date((d + 25200000000) / 1000000, 'unixepoch'),
            coalesce((SELECT name FROM campaigns WHERE campaign_id = NEW.campaign_id),
                     NEW.campaign_id)
        FROM (SELECT (NEW.start_us + 25200000000) / 86400000000 * 86400000000 - 25200000000 AS d)
        WHERE NOT EXISTS (SELECT 1 FROM airtime_rollup WHERE campaign_id = NEW.campaign_id
            AND node_id = NEW.node_id AND day_start_us <= NEW.start_us
            AND day_start_us > NEW.start_us - 90000000000 AND day_end_us > NEW.start_us);
        UPDATE airtime_rollup SET planned_plays = planned_plays + 1,
            planned_us = planned_us + NEW.duration_us,
            planned_end_us = max(planned_end_us, NEW.start_us + NEW.duration_us)
        WHERE campaign_id = NEW.campaign_id AND node_id = NEW.node_id AND day_start_us = (
            SELECT max(day_start_us) FROM airtime_rollup WHERE campaign_id = NEW.campaign_id
            AND node_id = NEW.node_id AND day_start_us <= NEW.start_us
            AND day_start_us > NEW.start_us - 90000000000 AND day_end_us > NEW.start_us);
    END;
    CREATE TRIGGER slots_confirmed_kept BEFORE DELETE ON slots
    WHEN EXISTS (SELECT 1 FROM confirmations WHERE node_id = OLD.node_id AND slot_id = OLD.slot_id)
    BEGIN SELECT RAISE(IGNORE); END;
    CREATE TRIGGER slots_rollup_taken_back AFTER DELETE ON slots BEGIN
        UPDATE airtime_rollup SET planned_plays = planned_plays - 1,
            planned_us = planned_us - OLD.duration_us
        WHERE campaign_id = OLD.campaign_id AND node_id = OLD.node_id AND day_start_us = (
            SELECT max(day_start_us) FROM airtime_rollup WHERE campaign_id = OLD.campaign_id
            AND node_id = OLD.node_id AND day_start_us <= OLD.start_us
            AND day_start_us > OLD.start_us - 90000000000 AND day_end_us > OLD.start_us);
    END;
    CREATE TRIGGER slots_not_moved BEFORE UPDATE OF node_id, slot_id, campaign_id, start_us,
        duration_us ON slots
    BEGIN SELECT RAISE(ABORT, 'a booked play is taken back and booked anew, never moved'); END;
    CREATE TRIGGER confirmations_no_update BEFORE UPDATE ON confirmations
    BEGIN SELECT RAISE(ABORT, 'confirmations are append-only'); END;
    CREATE TRIGGER confirmations_no_delete BEFORE DELETE ON confirmations
    BEGIN SELECT RAISE(ABORT, 'confirmations are append-only'); END;

    -- What is there already: booked plays, their confirmations, and plays without a slot.
    INSERT INTO airtime_rollup (campaign_id, area_path, day_start_us, node_id, day_end_us,
        local_day, campaign_name, planned_plays, planned_us, planned_end_us)
    SELECT s.campaign_id, n.area_path, loa_day_start(s.start_us, n.time_zone) AS d, s.node_id,
        loa_day_end(min(s.start_us), n.time_zone), loa_local_day(min(s.start_us), n.time_zone),
        coalesce(c.name, s.campaign_id), count(*), sum(s.duration_us),
        max(s.start_us + s.duration_us)
    FROM slots s JOIN nodes n USING (node_id) LEFT JOIN campaigns c USING (campaign_id)
    GROUP BY s.campaign_id, s.node_id, d;
    UPDATE airtime_rollup AS r SET played = r.played + x.played,
        played_us = r.played_us + x.played_us, interrupted = r.interrupted + x.interrupted,
        interrupted_us = r.interrupted_us + x.interrupted_us, late = r.late + x.late,
        late_us = r.late_us + x.late_us, media_missing = r.media_missing + x.media_missing,
        media_missing_us = r.media_missing_us + x.media_missing_us,
        node_offline = r.node_offline + x.node_offline,
        node_offline_us = r.node_offline_us + x.node_offline_us, failed = r.failed + x.failed,
        failed_us = r.failed_us + x.failed_us, aired_us = r.aired_us + x.aired_us,
        silent = r.silent + x.silent
    FROM (SELECT s.campaign_id, s.node_id, loa_day_start(s.start_us, n.time_zone) AS d,
            sum(b = 'played') AS played, sum(iif(b = 'played', s.duration_us, 0)) AS played_us,
            sum(b = 'interrupted') AS interrupted,
            sum(iif(b = 'interrupted', s.duration_us, 0)) AS interrupted_us,
            sum(b = 'late') AS late, sum(iif(b = 'late', s.duration_us, 0)) AS late_us,
            sum(b = 'media_missing') AS media_missing,
            sum(iif(b = 'media_missing', s.duration_us, 0)) AS media_missing_us,
            sum(b = 'node_offline') AS node_offline,
            sum(iif(b = 'node_offline', s.duration_us, 0)) AS node_offline_us,
            sum(b = 'failed') AS failed, sum(iif(b = 'failed', s.duration_us, 0)) AS failed_us,
            sum(iif(b IN ('played', 'interrupted'), k.actual_end_us - k.actual_start_us, 0))
                AS aired_us,
            sum(b IN ('played', 'interrupted') AND coalesce(k.peak_dbfs < -50.0, 0)) AS silent
          FROM (SELECT *, loa_bucket(outcome, reason) AS b FROM confirmations
                WHERE emergency_id = '') k
          JOIN slots s ON s.node_id = k.node_id AND s.slot_id = k.slot_id
          JOIN nodes n ON n.node_id = s.node_id
          GROUP BY s.campaign_id, s.node_id, d) AS x
    WHERE r.campaign_id = x.campaign_id AND r.node_id = x.node_id AND r.day_start_us = x.d;
    INSERT INTO airtime_rollup (campaign_id, area_path, day_start_us, node_id, day_end_us,
        local_day, campaign_name, unplanned_plays, unplanned_us, silent)
    SELECT k.campaign_id, coalesce(n.area_path, min(k.area_path)),
        loa_day_start(k.planned_start_us, coalesce(n.time_zone, 'Asia/Ho_Chi_Minh')) AS d,
        k.node_id,
        loa_day_end(min(k.planned_start_us), coalesce(n.time_zone, 'Asia/Ho_Chi_Minh')),
        loa_local_day(min(k.planned_start_us), coalesce(n.time_zone, 'Asia/Ho_Chi_Minh')),
        coalesce(c.name, k.campaign_id), count(*), sum(k.actual_end_us - k.actual_start_us),
        sum(coalesce(k.peak_dbfs < -50.0, 0))
    FROM confirmations k LEFT JOIN nodes n ON n.node_id = k.node_id
        LEFT JOIN campaigns c ON c.campaign_id = k.campaign_id
    WHERE k.outcome IN ('played', 'interrupted') AND (k.emergency_id <> '' OR NOT EXISTS (
        SELECT 1 FROM slots s WHERE s.node_id = k.node_id AND s.slot_id = k.slot_id))
    GROUP BY k.campaign_id, k.node_id, d
    ON CONFLICT (campaign_id, node_id, day_start_us) DO UPDATE SET
        unplanned_plays = unplanned_plays + excluded.unplanned_plays,
        unplanned_us = unplanned_us + excluded.unplanned_us, silent = silent + excluded.silent;
    INSERT INTO confirmation_marks (node_id, received, highest_seq, reported_through_us)
    SELECT r.node_id, count(*), max(r.seq), coalesce((SELECT max(k.planned_start_us)
        FROM confirmations k WHERE k.node_id = r.node_id AND k.emergency_id = ''), 0)
    FROM (SELECT node_id, seq FROM confirmations
          UNION SELECT node_id, seq FROM refused_confirmations) r
    GROUP BY r.node_id;
    )sql",
    // 9: campaigns can be paused (the API's POST /campaigns/{id}/pause): their plays not yet
    // started are taken back and nothing is booked for them until they are resumed.
    R"sql(
    ALTER TABLE campaigns ADD COLUMN paused_us INTEGER;
    ALTER TABLE campaigns ADD COLUMN paused_by TEXT;
    )sql",
    // 10: one writer (issue 16). Counters the schema itself advances on every change that moves
    // what they watch, whoever makes it: 'schedule' (what booking reads: slots, campaigns, their
    // items and areas, nodes' area, kind and zone, media's length and approval), 'commands'
    // (orders for nodes) and 'keys' (node keys, revocations, enrollment tokens). Work computed
    // on a snapshot is committed only if 'schedule' has not moved since; the node gateway looks
    // at them to know when timelines, commands or keys need a fresh look.
    R"sql(
    CREATE TABLE change_counters (
        topic TEXT PRIMARY KEY,
        value INTEGER NOT NULL
    ) WITHOUT ROWID;
    INSERT INTO change_counters VALUES ('schedule', 0), ('commands', 0), ('keys', 0);
    CREATE TRIGGER schedule_slots_added AFTER INSERT ON slots BEGIN
        UPDATE change_counters SET value = value + 1 WHERE topic = 'schedule'; END;
    CREATE TRIGGER schedule_slots_removed AFTER DELETE ON slots BEGIN
        UPDATE change_counters SET value = value + 1 WHERE topic = 'schedule'; END;
    CREATE TRIGGER schedule_slots_changed AFTER UPDATE ON slots BEGIN
        UPDATE change_counters SET value = value + 1 WHERE topic = 'schedule'; END;
    CREATE TRIGGER schedule_campaigns_added AFTER INSERT ON campaigns BEGIN
        UPDATE change_counters SET value = value + 1 WHERE topic = 'schedule'; END;
    CREATE TRIGGER schedule_campaigns_removed AFTER DELETE ON campaigns BEGIN
        UPDATE change_counters SET value = value + 1 WHERE topic = 'schedule'; END;
    CREATE TRIGGER schedule_campaigns_changed AFTER UPDATE ON campaigns BEGIN
        UPDATE change_counters SET value = value + 1 WHERE topic = 'schedule'; END;
    CREATE TRIGGER schedule_items_added AFTER INSERT ON campaign_items BEGIN
        UPDATE change_counters SET value = value + 1 WHERE topic = 'schedule'; END;
    CREATE TRIGGER schedule_items_removed AFTER DELETE ON campaign_items BEGIN
        UPDATE change_counters SET value = value + 1 WHERE topic = 'schedule'; END;
    CREATE TRIGGER schedule_areas_added AFTER INSERT ON campaign_areas BEGIN
        UPDATE change_counters SET value = value + 1 WHERE topic = 'schedule'; END;
    CREATE TRIGGER schedule_areas_removed AFTER DELETE ON campaign_areas BEGIN
        UPDATE change_counters SET value = value + 1 WHERE topic = 'schedule'; END;
    CREATE TRIGGER schedule_nodes_added AFTER INSERT ON nodes BEGIN
        UPDATE change_counters SET value = value + 1 WHERE topic = 'schedule'; END;
    CREATE TRIGGER schedule_nodes_removed AFTER DELETE ON nodes BEGIN
        UPDATE change_counters SET value = value + 1 WHERE topic = 'schedule'; END;
    CREATE TRIGGER schedule_nodes_changed AFTER UPDATE OF kind, area_path, time_zone ON nodes
    BEGIN UPDATE change_counters SET value = value + 1 WHERE topic = 'schedule'; END;
    CREATE TRIGGER schedule_media_added AFTER INSERT ON media BEGIN
        UPDATE change_counters SET value = value + 1 WHERE topic = 'schedule'; END;
    CREATE TRIGGER schedule_media_changed AFTER UPDATE OF duration_us, kind, approval, area_path
        ON media
    BEGIN UPDATE change_counters SET value = value + 1 WHERE topic = 'schedule'; END;
    CREATE TRIGGER commands_added AFTER INSERT ON commands BEGIN
        UPDATE change_counters SET value = value + 1 WHERE topic = 'commands'; END;
    CREATE TRIGGER commands_changed AFTER UPDATE OF state ON commands BEGIN
        UPDATE change_counters SET value = value + 1 WHERE topic = 'commands'; END;
    CREATE TRIGGER keys_added AFTER INSERT ON node_keys BEGIN
        UPDATE change_counters SET value = value + 1 WHERE topic = 'keys'; END;
    CREATE TRIGGER keys_changed AFTER UPDATE ON node_keys BEGIN
        UPDATE change_counters SET value = value + 1 WHERE topic = 'keys'; END;
    CREATE TRIGGER keys_node_revoked AFTER UPDATE OF revoked_us ON nodes BEGIN
        UPDATE change_counters SET value = value + 1 WHERE topic = 'keys'; END;
    CREATE TRIGGER keys_token_added AFTER INSERT ON enrollment_tokens BEGIN
        UPDATE change_counters SET value = value + 1 WHERE topic = 'keys'; END;
    CREATE TRIGGER keys_token_changed AFTER UPDATE ON enrollment_tokens BEGIN
        UPDATE change_counters SET value = value + 1 WHERE topic = 'keys'; END;
    )sql",
    // 11: audit integrity and the fleet view (issue 16).
    // - Heartbeat fields out of range are kept as unknown (NULL) one by one, with a note of
    //   which and why, instead of the whole heartbeat being refused: node_status is rebuilt
    //   with nullable columns and `problems`.
    // - A play withdrawn after it was booked (a campaign paused, a plan replaced, media
    //   rejected) is remembered, so that a node that had it in its timeline and played it
    //   still counts it for the campaign that booked it; a confirmation of a slot never booked
    //   for that node is kept apart instead. Kept ~35 days past the play (docs/audit.md).
    // - Refused confirmations get a key of their own: a sequence number used again with
    //   another content is kept apart visibly, not dropped as a duplicate.
    // - Each node's last error, kept as it is found (confirmations, commands, refusals) so the
    //   fleet view reads one row per node instead of scanning confirmations.
    R"sql(
    CREATE TABLE node_status_v11 (
        node_id TEXT PRIMARY KEY REFERENCES nodes(node_id),
        received_us INTEGER NOT NULL,
        node_time_us INTEGER,
        state TEXT,
        current_slot_id TEXT,
        current_title TEXT,
        outbox_pending INTEGER,
        media_missing INTEGER,
        volume_percent INTEGER,
        storage_free_bytes INTEGER,
        cpu_temp_millicelsius INTEGER,
        link_interface TEXT,
        link_type TEXT,
        link_signal_dbm INTEGER,
        clock_offset_us INTEGER,
        clock_round_trip_us INTEGER,
        agent_version TEXT,
        schedule_horizon_end_us INTEGER,
        runway_end_us INTEGER,
        last_seq INTEGER,
        amplifier_on INTEGER,
        problems TEXT NOT NULL DEFAULT ''  -- fields out of range, "field: why; …"
    );
    INSERT INTO node_status_v11 SELECT *, '' FROM node_status;
    DROP TABLE node_status;
    ALTER TABLE node_status_v11 RENAME TO node_status;

    CREATE TABLE slots_withdrawn (
        node_id TEXT NOT NULL,
        slot_id TEXT NOT NULL,
        campaign_id TEXT NOT NULL,
        item_id TEXT NOT NULL,
        media_hash TEXT NOT NULL,
        start_us INTEGER NOT NULL,
        duration_us INTEGER NOT NULL,
        PRIMARY KEY (node_id, slot_id)
    ) WITHOUT ROWID;
    CREATE INDEX slots_withdrawn_by_start ON slots_withdrawn (start_us);
    -- Runs after slots_confirmed_kept: a confirmed slot is never deleted, so never withdrawn.
    CREATE TRIGGER slots_withdrawn_kept AFTER DELETE ON slots BEGIN
        INSERT OR REPLACE INTO slots_withdrawn VALUES (OLD.node_id, OLD.slot_id, OLD.campaign_id,
            OLD.item_id, OLD.media_hash, OLD.start_us, OLD.duration_us);
    END;
    CREATE TRIGGER slots_booked_again AFTER INSERT ON slots BEGIN
        DELETE FROM slots_withdrawn WHERE node_id = NEW.node_id AND slot_id = NEW.slot_id;
    END;

    CREATE TABLE refused_confirmations_v11 (
        refusal_id INTEGER PRIMARY KEY AUTOINCREMENT,
        node_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        reason TEXT NOT NULL,
        confirmation BLOB NOT NULL,
        received_us INTEGER NOT NULL
    );
    INSERT INTO refused_confirmations_v11 (node_id, seq, reason, confirmation, received_us)
    SELECT node_id, seq, reason, confirmation, received_us FROM refused_confirmations
    ORDER BY received_us, node_id, seq;
    DROP TABLE refused_confirmations;
    ALTER TABLE refused_confirmations_v11 RENAME TO refused_confirmations;
    CREATE INDEX refused_confirmations_by_node ON refused_confirmations (node_id, seq);

    -- Per node, a version that moves with every change to its booked plays: the node gateway
    -- rebuilds the timelines of the nodes whose plays changed, not of every node.
    CREATE TABLE node_schedule_versions (
        node_id TEXT PRIMARY KEY,
        version INTEGER NOT NULL
    ) WITHOUT ROWID;
    INSERT INTO node_schedule_versions SELECT node_id, 1 FROM nodes;
    CREATE TRIGGER node_schedule_slot_added AFTER INSERT ON slots BEGIN
        INSERT INTO node_schedule_versions VALUES (NEW.node_id, 1)
        ON CONFLICT (node_id) DO UPDATE SET version = version + 1; END;
    CREATE TRIGGER node_schedule_slot_removed AFTER DELETE ON slots BEGIN
        INSERT INTO node_schedule_versions VALUES (OLD.node_id, 1)
        ON CONFLICT (node_id) DO UPDATE SET version = version + 1; END;
    CREATE TRIGGER node_schedule_slot_changed AFTER UPDATE ON slots BEGIN
        INSERT INTO node_schedule_versions VALUES (NEW.node_id, 1)
        ON CONFLICT (node_id) DO UPDATE SET version = version + 1; END;

    CREATE TABLE node_errors (
        node_id TEXT PRIMARY KEY,
        source TEXT NOT NULL,   -- confirmation, command, refused-confirmation, refused-message
        at_us INTEGER NOT NULL,
        subject TEXT NOT NULL,  -- what failed: the play, the command, the number, the message
        reason TEXT NOT NULL
    ) WITHOUT ROWID;
    INSERT INTO node_errors (node_id, source, at_us, subject, reason)
    SELECT node_id, source, at_us, subject, reason FROM (
        SELECT *, row_number() OVER (PARTITION BY node_id ORDER BY at_us DESC) AS n FROM (
            SELECT c.node_id, 'confirmation' AS source, c.received_us AS at_us,
                CASE WHEN coalesce(s.title, m.title, '') = '' THEN c.slot_id
                ELSE coalesce(s.title, m.title) || ', ' || c.slot_id END AS subject,
                c.reason AS reason
            FROM confirmations c
                LEFT JOIN slots s ON s.node_id = c.node_id AND s.slot_id = c.slot_id
                LEFT JOIN media m ON m.media_hash = c.media_hash
            WHERE c.outcome = 'failed'
            UNION ALL
            SELECT node_id, 'command', coalesce(result_received_us, issued_us),
                command_id || ' ' || kind, coalesce(message, '')
            FROM commands WHERE state = 'done' AND ok = 0
            UNION ALL
            SELECT node_id, 'refused-confirmation', received_us, 'seq ' || seq, reason
            FROM refused_confirmations
            UNION ALL
            SELECT substr(actor, 6), 'refused-message', at_us, action,
                coalesce(json_extract(detail, '$.reason'), '')
            FROM action_log
            WHERE actor >= 'node:' AND actor < 'node;' AND outcome = 'refused'))
    WHERE n = 1;
    )sql",
    // 12: media belongs to the area that imported it (issue 16). `media` stays the content (hash,
    // probe facts, loudness, file names) with the area of its first import; each area that
    // imported it, or had it shared explicitly, has a record of its own with its own title and
    // approval, and decisions name the record they were on. Importing bytes another area holds
    // makes the importer's record instead of widening anyone's. Each row before becomes one
    // record, with its area and approval as they were and its importer from the action log.
    // `media.approval` goes, so that nothing reads an approval that no longer decides anything.
    R"sql(
    CREATE TABLE media_areas (
        media_hash TEXT NOT NULL REFERENCES media(media_hash),
        area_path TEXT NOT NULL,    -- '/' : every area
        title TEXT NOT NULL,
        via TEXT NOT NULL CHECK (via IN ('import', 'share')),
        added_by TEXT NOT NULL,     -- who imported or shared it; '' when not known
        added_us INTEGER NOT NULL,
        approval TEXT NOT NULL DEFAULT 'pending'
            CHECK (approval IN ('pending', 'approved', 'rejected')),
        PRIMARY KEY (media_hash, area_path)
    ) WITHOUT ROWID;
    INSERT INTO media_areas (media_hash, area_path, title, via, added_by, added_us, approval)
    SELECT m.media_hash, m.area_path, m.title, 'import',
        coalesce((SELECT a.actor FROM action_log a WHERE a.action = 'media.import'
                  AND a.outcome = 'done' AND a.target = m.media_hash
                  ORDER BY a.action_id LIMIT 1), ''),
        m.imported_us, m.approval
    FROM media m;
    ALTER TABLE approvals ADD COLUMN area_path TEXT NOT NULL DEFAULT '/';
    UPDATE approvals SET area_path = coalesce(
        (SELECT m.area_path FROM media m WHERE m.media_hash = approvals.media_hash), '/');
    CREATE INDEX approvals_by_media ON approvals (media_hash, decision_id);
    DROP TRIGGER schedule_media_changed;
    ALTER TABLE media DROP COLUMN approval;
    CREATE TRIGGER schedule_media_changed AFTER UPDATE OF duration_us, kind ON media
    BEGIN UPDATE change_counters SET value = value + 1 WHERE topic = 'schedule'; END;
    -- What booking reads of records: which are approved, where.
    CREATE TRIGGER schedule_media_areas_added AFTER INSERT ON media_areas
    WHEN NEW.approval = 'approved'
    BEGIN UPDATE change_counters SET value = value + 1 WHERE topic = 'schedule'; END;
    CREATE TRIGGER schedule_media_areas_changed AFTER UPDATE OF approval, area_path ON media_areas
    BEGIN UPDATE change_counters SET value = value + 1 WHERE topic = 'schedule'; END;
    CREATE TRIGGER schedule_media_areas_removed AFTER DELETE ON media_areas
    BEGIN UPDATE change_counters SET value = value + 1 WHERE topic = 'schedule'; END;
    )sql",
    // 13: what the import found that an approver should know although the file was taken
    // (issue 17): junk ignored at its end, mostly noise, a big lift, heavy limiting. A JSON array
    // of bilingual lines; media imported before has none recorded.
    R"sql(
    ALTER TABLE media ADD COLUMN warnings TEXT NOT NULL DEFAULT '[]';
    )sql",
    // 14: confirmations judged on the controller's clock (issue 18, point 12). Nodes' clock
    // offsets as measured (HELLO: one way, coarse; heartbeats: the node's best NTP exchange),
    // kept when they move, at each session and every 6 h. A confirmation stores what the node
    // claimed (node_*_us, its clock), the offset it was corrected with and when that was
    // measured; actual_*_us are from now on the controller's time (before: the node's claim,
    // node_start_us NULL). off_by_us: corrected start − booked start (+ a late join's offset);
    // off_time: more than 30 s either way. The rollup counts them per day.
    R"sql(
    CREATE TABLE node_clock_offsets (
        node_id TEXT NOT NULL,
        measured_us INTEGER NOT NULL,  -- controller clock
        offset_us INTEGER NOT NULL,    -- controller clock − node clock
        round_trip_us INTEGER,         -- NULL: one way (HELLO), error up to the link's delay
        PRIMARY KEY (node_id, measured_us)
    ) WITHOUT ROWID;
    ALTER TABLE confirmations ADD COLUMN node_start_us INTEGER;
    ALTER TABLE confirmations ADD COLUMN node_end_us INTEGER;
    ALTER TABLE confirmations ADD COLUMN clock_offset_us INTEGER;
    ALTER TABLE confirmations ADD COLUMN clock_measured_us INTEGER;
    ALTER TABLE confirmations ADD COLUMN off_by_us INTEGER;
    ALTER TABLE confirmations ADD COLUMN off_time INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX confirmations_off_time ON confirmations (campaign_id, planned_start_us)
        WHERE off_time = 1;
    ALTER TABLE airtime_rollup ADD COLUMN off_time INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE node_status ADD COLUMN clock_state INTEGER;
    ALTER TABLE node_status ADD COLUMN clock_age_us INTEGER;
    )sql",
    // 15: a node's store faults (issue 18): its disk full (it plays on, holding confirmations in
    // memory) and when its store was last started afresh from a damaged file. NULL: the node's
    // agent does not say (older than issue 18), or no heartbeat since.
    R"sql(
    ALTER TABLE node_status ADD COLUMN store_full INTEGER;
    ALTER TABLE node_status ADD COLUMN confirmations_held INTEGER;
    ALTER TABLE node_status ADD COLUMN store_rebuilt_us INTEGER;
    )sql",
};

/// The version recorded, 0 for a database without one yet (read outside any transaction, only to
/// know whether migrating is needed at all).
int schema_version_or_zero(SQLite::Database& db) {
    if (!db.tableExists("schema_version")) {
        return 0;
    }
    return schema_version(db);
}

}  // namespace

Result<std::unique_ptr<SQLite::Database>> open_reader(const std::filesystem::path& file) {
    try {
        auto db = std::make_unique<SQLite::Database>(file.string(), SQLite::OPEN_READONLY);
        // A reader waits only while a checkpoint resets the WAL, never for a writer's commit.
        db->setBusyTimeout(10000);
        db->exec("PRAGMA temp_store=MEMORY");
        detail::register_rollup_functions(*db);
        return db;
    } catch (const std::exception& e) {
        return fail(Error::Code::storage, file.string() + ": " + e.what());
    }
}

void tune_writer(SQLite::Database& db) {
    db.exec("PRAGMA cache_size=-262144");
    db.exec("PRAGMA wal_autocheckpoint=16384");
}

int schema_version(SQLite::Database& db) {
    SQLite::Statement q(db, "SELECT version FROM schema_version");
    return q.executeStep() ? q.getColumn(0).getInt() : 0;
}

namespace {

/// One attempt at opening and migrating. A busy lock escapes as SQLite::Exception so the caller
/// can retry; everything else becomes an error here.
Result<std::unique_ptr<SQLite::Database>> open_once(const std::filesystem::path& file) {
    {
        auto db = std::make_unique<SQLite::Database>(file.string(),
                                                     SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        db->setBusyTimeout(10000);
        db->exec("PRAGMA journal_mode=WAL");
        // FULL: a confirmation is acked to its node right after commit, so the commit must be
        // on disk before the ack leaves; a lost acked confirmation could never be re-sent.
        db->exec("PRAGMA synchronous=FULL");
        db->exec("PRAGMA foreign_keys=ON");
        // A poll round's reports touch several indexes; a 32 MiB page cache keeps their dirty
        // pages in memory until the commit instead of spilling them to the WAL mid-transaction.
        db->exec("PRAGMA cache_size=-32768");
        // Savepoints (one per change in a group commit, one per statement inside it) journal
        // the pages they change in the statement journal. Not in memory: SQLite truncates an
        // in-memory statement journal at the end of every statement by walking it from the
        // start, so a change of 70,000 inserts (a plan for 5,000 nodes) took minutes, holding
        // the writer. A file journal (up to 64 KiB stays in memory, then a temporary file that
        // is never synced) truncates at once.
        db->exec("PRAGMA temp_store=FILE");
        // The airtime rollup's migration computes nodes' local days with these.
        detail::register_rollup_functions(*db);
        // Migrations run alone: the version is read inside the exclusive transaction that
        // migrates, so a second process opening the database at the same time waits (busy
        // timeout) and then finds the work done, instead of running the same step twice.
        if (schema_version_or_zero(*db) != kSchemaVersion) {
            SQLite::Transaction migration(*db, SQLite::TransactionBehavior::EXCLUSIVE);
            db->exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
            int version = schema_version(*db);
            if (version > kSchemaVersion) {
                return fail(Error::Code::storage, file.string() + ": schema version " +
                                                      std::to_string(version) +
                                                      " is newer than this controller's " +
                                                      std::to_string(kSchemaVersion));
            }
            for (; version < kSchemaVersion; ++version) {
                db->exec(std::string(kMigrations[version]));
            }
            db->exec("DELETE FROM schema_version");
            db->exec("INSERT INTO schema_version VALUES (" + std::to_string(version) + ")");
            migration.commit();
        }
        return db;
    }
}

bool is_busy(const SQLite::Exception& e) {
    return (e.getErrorCode() & 0xff) == SQLITE_BUSY;
}

}  // namespace

Result<std::unique_ptr<SQLite::Database>> open_database(const std::filesystem::path& file) {
    // SQLite answers some lock conflicts with SQLITE_BUSY at once instead of waiting out the busy
    // timeout: switching a brand-new file to WAL reads and then writes, and two processes doing
    // that together deadlock, so one is refused straight away. Opening is retried for a bounded
    // time with a little jitter, like a busy timeout would.
    constexpr auto kPatience = std::chrono::seconds(10);
    const auto deadline = std::chrono::steady_clock::now() + kPatience;
    std::minstd_rand jitter(static_cast<unsigned>(::getpid()));
    try {
        if (file.has_parent_path()) {
            std::filesystem::create_directories(file.parent_path());
        }
        for (;;) {
            try {
                return open_once(file);
            } catch (const SQLite::Exception& e) {
                if (!is_busy(e) || std::chrono::steady_clock::now() >= deadline) {
                    throw;
                }
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(5 + jitter() % 45));
        }
    } catch (const std::exception& e) {
        return fail(Error::Code::storage, file.string() + ": " + e.what());
    }
}

}  // namespace loa::controller

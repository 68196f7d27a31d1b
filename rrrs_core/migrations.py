"""Versioned schema migrations. Append new ones; never edit an applied one.

Tables only: derived views are rebuilt from the codebook on every connect (see `views.py`), because they
hold no data and must follow the code.
"""

from __future__ import annotations

MIGRATIONS: list[tuple[int, str, str]] = [
    (
        1,
        "core 3RS schema",
        """
        CREATE TABLE therapist (
            therapist_id   VARCHAR PRIMARY KEY,
            supervisor_id  VARCHAR,
            trainee        BOOLEAN NOT NULL DEFAULT false
        );
        CREATE TABLE dyad (
            dyad_id        VARCHAR PRIMARY KEY,
            therapist_id   VARCHAR NOT NULL,
            patient_id     VARCHAR,
            treatment      VARCHAR
        );
        CREATE TABLE session (
            dyad_id         VARCHAR NOT NULL,
            session_number  INTEGER NOT NULL,
            session_date    DATE,
            segment_minutes INTEGER NOT NULL DEFAULT 5,
            n_segments      INTEGER NOT NULL,
            PRIMARY KEY (dyad_id, session_number)
        );
        CREATE SEQUENCE coding_id_seq START 1;
        CREATE TABLE coding (
            coding_id        BIGINT PRIMARY KEY DEFAULT nextval('coding_id_seq'),
            dyad_id          VARCHAR NOT NULL,
            session_number   INTEGER NOT NULL,
            coder_id         VARCHAR NOT NULL,
            version          INTEGER NOT NULL,
            is_current       BOOLEAN NOT NULL,
            status           VARCHAR NOT NULL DEFAULT 'final',
            consensus        BOOLEAN NOT NULL DEFAULT false,
            codebook_id      VARCHAR NOT NULL,
            codebook_version VARCHAR NOT NULL,
            content_hash     VARCHAR NOT NULL,
            created_at       TIMESTAMP NOT NULL,
            created_by       VARCHAR NOT NULL,
            batch_id         BIGINT,
            change_note      VARCHAR,
            UNIQUE (dyad_id, session_number, coder_id, version)
        );
        CREATE TABLE mark (
            coding_id BIGINT NOT NULL,
            segment   INTEGER NOT NULL,
            code      VARCHAR NOT NULL,
            clarity   VARCHAR NOT NULL CHECK (clarity IN ('check', 'check_minus')),
            PRIMARY KEY (coding_id, segment, code)
        );
        CREATE TABLE rating (
            coding_id BIGINT NOT NULL,
            item      VARCHAR NOT NULL,
            rating    INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
            PRIMARY KEY (coding_id, item)
        );
        CREATE SEQUENCE batch_id_seq START 1;
        CREATE TABLE import_batch (
            batch_id    BIGINT PRIMARY KEY DEFAULT nextval('batch_id_seq'),
            source      VARCHAR NOT NULL,
            imported_at TIMESTAMP NOT NULL,
            imported_by VARCHAR NOT NULL,
            synthetic   BOOLEAN NOT NULL,
            n_codings   INTEGER NOT NULL
        );
        CREATE TABLE codebook_code (
            codebook_id      VARCHAR NOT NULL,
            codebook_version VARCHAR NOT NULL,
            key              VARCHAR NOT NULL,
            family           VARCHAR NOT NULL,
            label            VARCHAR NOT NULL,
            position         INTEGER NOT NULL,
            PRIMARY KEY (codebook_id, codebook_version, key)
        );
        """,
    ),
    (
        2,
        "supervision notes on dyads and sessions",
        """
        CREATE SEQUENCE note_id_seq START 1;
        CREATE TABLE note (
            note_id        BIGINT PRIMARY KEY DEFAULT nextval('note_id_seq'),
            dyad_id        VARCHAR NOT NULL,
            session_number INTEGER,
            author         VARCHAR NOT NULL,
            created_at     TIMESTAMP NOT NULL,
            body           VARCHAR NOT NULL
        );
        """,
    ),
    (
        3,
        "per-segment notes on codings (a timestamp or quote to find the moment on video)",
        """
        CREATE TABLE segment_note (
            coding_id BIGINT NOT NULL,
            segment   INTEGER NOT NULL,
            note      VARCHAR NOT NULL,
            PRIMARY KEY (coding_id, segment)
        );
        """,
    ),
    (
        4,
        "principals, roles and the append-only audit trail",
        """
        CREATE TABLE principal (
            subject      VARCHAR PRIMARY KEY,
            email        VARCHAR,
            display_name VARCHAR,
            role         VARCHAR NOT NULL CHECK (role IN ('admin', 'supervisor', 'therapist', 'coder', 'qi')),
            therapist_id VARCHAR,
            coder_id     VARCHAR,
            active       BOOLEAN NOT NULL DEFAULT true,
            created_at   TIMESTAMP NOT NULL
        );
        CREATE TABLE coding_assignment (
            dyad_id        VARCHAR NOT NULL,
            session_number INTEGER NOT NULL,
            coder_id       VARCHAR NOT NULL,
            PRIMARY KEY (dyad_id, session_number, coder_id)
        );
        CREATE SEQUENCE audit_id_seq START 1;
        CREATE TABLE audit (
            audit_id  BIGINT PRIMARY KEY DEFAULT nextval('audit_id_seq'),
            occurred_at TIMESTAMP NOT NULL,
            actor     VARCHAR NOT NULL,
            role      VARCHAR NOT NULL,
            action    VARCHAR NOT NULL,
            target    VARCHAR,
            detail    VARCHAR,
            prev_hash VARCHAR NOT NULL,
            row_hash  VARCHAR NOT NULL
        );
        """,
    ),
    (
        5,
        "marks and ratings without primary-key indexes (uniqueness is enforced where they are written)",
        # The (coding_id, segment, code) and (coding_id, item) indexes made importing 100,000 sessions
        # ~8x slower and the file ~30x larger; the importer's duplicate rules and the scoresheet's keyed
        # drafts already guarantee uniqueness, and tests assert it.
        """
        CREATE TABLE mark_v5 (
            coding_id BIGINT NOT NULL,
            segment   INTEGER NOT NULL,
            code      VARCHAR NOT NULL,
            clarity   VARCHAR NOT NULL CHECK (clarity IN ('check', 'check_minus'))
        );
        INSERT INTO mark_v5 SELECT coding_id, segment, code, clarity FROM mark;
        DROP TABLE mark;
        ALTER TABLE mark_v5 RENAME TO mark;
        CREATE TABLE rating_v5 (
            coding_id BIGINT NOT NULL,
            item      VARCHAR NOT NULL,
            rating    INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5)
        );
        INSERT INTO rating_v5 SELECT coding_id, item, rating FROM rating;
        DROP TABLE rating;
        ALTER TABLE rating_v5 RENAME TO rating;
        """,
    ),
    (
        6,
        "ratings store their item as a small id (rating_item); the view `rating` reads them as before",
        # Writing 3.3 million item names was a third of an import of 100,000 sessions (DuckDB stores and
        # compresses each text value; a small integer costs about a fifth of that). `views.create_views` makes the
        # view `rating` (coding_id, item, rating), so every reader is unchanged.
        """
        CREATE TABLE rating_item (
            item_id USMALLINT PRIMARY KEY,
            item    VARCHAR NOT NULL UNIQUE
        );
        INSERT INTO rating_item
        SELECT row_number() OVER (ORDER BY item)::USMALLINT, item FROM (SELECT DISTINCT item FROM rating);
        CREATE TABLE rating_value (
            coding_id BIGINT NOT NULL,
            item_id   USMALLINT NOT NULL,
            rating    UTINYINT NOT NULL CHECK (rating BETWEEN 1 AND 5)
        );
        INSERT INTO rating_value SELECT r.coding_id, i.item_id, r.rating FROM rating r JOIN rating_item i USING (item);
        DROP TABLE rating;
        """,
    ),
    (
        7,
        "codings and sessions without their composite-key indexes (their writers keep the keys unique)",
        # The UNIQUE (dyad_id, session_number, coder_id, version) index on coding and the session primary key
        # were about 0.2 s of a 100,000-session import (building the text-keyed indexes, then writing them at
        # commit), and no query uses them. The import plans each coding's version and adds only sessions not
        # stored; the scoresheet checks before it writes; both hold `store.CODING_WRITES`, so two writers in
        # one process never race. coding_id keeps its primary key (an integer index, cheap).
        """
        CREATE TABLE coding_v7 (
            coding_id        BIGINT PRIMARY KEY DEFAULT nextval('coding_id_seq'),
            dyad_id          VARCHAR NOT NULL,
            session_number   INTEGER NOT NULL,
            coder_id         VARCHAR NOT NULL,
            version          INTEGER NOT NULL,
            is_current       BOOLEAN NOT NULL,
            status           VARCHAR NOT NULL DEFAULT 'final',
            consensus        BOOLEAN NOT NULL DEFAULT false,
            codebook_id      VARCHAR NOT NULL,
            codebook_version VARCHAR NOT NULL,
            content_hash     VARCHAR NOT NULL,
            created_at       TIMESTAMP NOT NULL,
            created_by       VARCHAR NOT NULL,
            batch_id         BIGINT,
            change_note      VARCHAR
        );
        INSERT INTO coding_v7 SELECT * FROM coding ORDER BY coding_id;
        DROP TABLE coding;
        ALTER TABLE coding_v7 RENAME TO coding;
        CREATE TABLE session_v7 (
            dyad_id         VARCHAR NOT NULL,
            session_number  INTEGER NOT NULL,
            session_date    DATE,
            segment_minutes INTEGER NOT NULL DEFAULT 5,
            n_segments      INTEGER NOT NULL
        );
        INSERT INTO session_v7 SELECT * FROM session ORDER BY dyad_id, session_number;
        DROP TABLE session;
        ALTER TABLE session_v7 RENAME TO session;
        """,
    ),
    (
        8,
        "keyed audit trail: an anchor row (count, last row, signatures) and the OS account of CLI rows",
        # Rows are signed with HMAC-SHA256 from now on (rrrs_core.audit). The rows already there keep their
        # unkeyed SHA-256 chain: this records how many there are and the last one ("legacy" boundary), and
        # `store.migrate` signs that boundary and the anchor with the audit key in this same transaction.
        # SQL cannot re-sign the old rows (the key is not in the database), so they are not re-anchored.
        """
        ALTER TABLE audit ADD COLUMN os_user VARCHAR;
        CREATE TABLE trail_anchor (
            n_rows         BIGINT NOT NULL,
            last_id        BIGINT NOT NULL,
            head           VARCHAR NOT NULL,
            mac            VARCHAR,
            legacy_rows    BIGINT NOT NULL,
            legacy_last_id BIGINT NOT NULL,
            legacy_head    VARCHAR NOT NULL,
            legacy_mac     VARCHAR
        );
        INSERT INTO trail_anchor
        SELECT count(*), coalesce(max(audit_id), 0), coalesce(arg_max(row_hash, audit_id), repeat('0', 64)), NULL,
               count(*), coalesce(max(audit_id), 0), coalesce(arg_max(row_hash, audit_id), repeat('0', 64)), NULL
        FROM audit;
        """,
    ),
    (
        9,
        "reference codings for coder calibration (which coding of a calibration session is the standard)",
        # One reference per session: the named coder's current, final coding (a master coder's, or a
        # consensus), so a corrected reference is used as corrected. Who marked it and when, for the trail.
        """
        CREATE TABLE reference_coding (
            dyad_id        VARCHAR NOT NULL,
            session_number INTEGER NOT NULL,
            coder_id       VARCHAR NOT NULL,
            marked_by      VARCHAR NOT NULL,
            marked_at      TIMESTAMP NOT NULL,
            PRIMARY KEY (dyad_id, session_number)
        );
        """,
    ),
    (
        10,
        "session self-reports (SRS, WAI-SR, rupture items) and the instrument definitions that score them",
        # Item scores only, one row per answer. No key or index: the store may be DuckLake, which has none, so
        # the writers (the import, the entry form) keep (dyad, session, respondent, instrument, item) unique.
        # A self-reported session need not be in `session` (most are never coded); its dyad must exist.
        # The definition tables are a copy of the instrument files (rrrs_core/selfreport), kept for every
        # version ever used, so stored scores are scored by the definition they were entered under.
        """
        CREATE TABLE selfreport (
            dyad_id            VARCHAR NOT NULL,
            session_number     INTEGER NOT NULL,
            respondent         VARCHAR NOT NULL,
            instrument         VARCHAR NOT NULL,
            instrument_version VARCHAR NOT NULL,
            item               VARCHAR NOT NULL,
            value              DOUBLE NOT NULL,
            completed_on       DATE,
            batch_id           BIGINT,
            entered_by         VARCHAR NOT NULL,
            entered_at         TIMESTAMP NOT NULL
        );
        CREATE TABLE selfreport_instrument (
            instrument VARCHAR NOT NULL,
            version    VARCHAR NOT NULL,
            title      VARCHAR NOT NULL,
            definition VARCHAR NOT NULL,
            origin     VARCHAR NOT NULL,
            added_at   TIMESTAMP NOT NULL
        );
        CREATE TABLE selfreport_scale_item (
            instrument VARCHAR NOT NULL,
            version    VARCHAR NOT NULL,
            scale      VARCHAR NOT NULL,
            item       VARCHAR NOT NULL,
            scoring    VARCHAR NOT NULL,
            n_items    INTEGER NOT NULL,
            position   INTEGER NOT NULL
        );
        CREATE TABLE selfreport_rule (
            instrument   VARCHAR NOT NULL,
            version      VARCHAR NOT NULL,
            rule         VARCHAR NOT NULL,
            scale        VARCHAR NOT NULL,
            kind         VARCHAR NOT NULL,
            on_scale     VARCHAR NOT NULL,
            op           VARCHAR NOT NULL,
            threshold    DOUBLE NOT NULL,
            n_conditions INTEGER NOT NULL
        );
        """,
    ),
    (
        11,
        "session transcripts (turns and where they came from) and references to session recordings",
        # Clinical text, so it lives in the store (encrypted like the codings) and nowhere else. No keys: the
        # store may be DuckLake; `rrrs_core.transcripts` writes a session's rows under the write lock, replacing
        # them whole. A recording is only a path relative to $RRRS_MEDIA_ROOT: the file never enters the store.
        """
        CREATE TABLE transcript (
            dyad_id        VARCHAR NOT NULL,
            session_number INTEGER NOT NULL,
            source         VARCHAR NOT NULL,
            format         VARCHAR NOT NULL,
            n_turns        INTEGER NOT NULL,
            timed          BOOLEAN NOT NULL,
            attached_by    VARCHAR NOT NULL,
            attached_at    TIMESTAMP NOT NULL
        );
        CREATE TABLE transcript_turn (
            dyad_id        VARCHAR NOT NULL,
            session_number INTEGER NOT NULL,
            turn           INTEGER NOT NULL,
            start_s        DOUBLE,
            end_s          DOUBLE,
            speaker        VARCHAR NOT NULL,
            label          VARCHAR NOT NULL,
            text           VARCHAR NOT NULL
        );
        CREATE TABLE recording (
            dyad_id        VARCHAR NOT NULL,
            session_number INTEGER NOT NULL,
            path           VARCHAR NOT NULL,
            set_by         VARCHAR NOT NULL,
            set_at         TIMESTAMP NOT NULL
        );
        """,
    ),
    (
        12,
        "coders' decisions on code suggestions (accepted or rejected), to count whether suggestions help",
        # One row per decision, never updated (a later decision on the same suggestion is a new row; counts read
        # the latest). No text of the transcript is copied here: only where (segment, turn) and which code.
        """
        CREATE TABLE suggestion_decision (
            dyad_id        VARCHAR NOT NULL,
            session_number INTEGER NOT NULL,
            segment        INTEGER,
            turn           INTEGER NOT NULL,
            code           VARCHAR NOT NULL,
            accepted       BOOLEAN NOT NULL,
            method         VARCHAR NOT NULL,
            decided_by     VARCHAR NOT NULL,
            decided_at     TIMESTAMP NOT NULL
        );
        """,
    ),
]

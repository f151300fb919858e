-- Jobs: a command run on a set of VMs, its per-host results and ALL its output.
-- Host rows copy the VM's name so history survives the VM being renamed or deleted.
CREATE TABLE jobs (
    id              INTEGER PRIMARY KEY,
    command         TEXT    NOT NULL,
    -- 'app' or 'cli': who started it.
    origin          TEXT    NOT NULL,
    -- How the targets were chosen, for people ("tag:web", "3 VMs").
    target_label    TEXT    NOT NULL,
    concurrency     INTEGER NOT NULL,
    timeout_ms      INTEGER,
    stop_on_failure INTEGER NOT NULL DEFAULT 0,
    canary          INTEGER NOT NULL DEFAULT 0,
    state           TEXT    NOT NULL,
    retry_of        INTEGER REFERENCES jobs (id) ON DELETE SET NULL,
    -- The process running it ("pid:start-time"); a dead owner means interrupted.
    owner           TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    started_at      INTEGER,
    finished_at     INTEGER
);

CREATE INDEX jobs_by_state ON jobs (state);

CREATE TABLE job_hosts (
    job_id      INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    host        INTEGER NOT NULL,
    vm_id       INTEGER,
    name        TEXT    NOT NULL,
    state       TEXT    NOT NULL,
    exit_code   INTEGER,
    signal      TEXT,
    error       TEXT,
    error_kind  TEXT,
    started_at  INTEGER,
    finished_at INTEGER,
    out_bytes   INTEGER NOT NULL DEFAULT 0,
    truncated   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (job_id, host)
);

CREATE INDEX job_hosts_by_vm ON job_hosts (vm_id);

-- Output as received, in arrival order (id). stream: 1 stdout, 2 stderr, 0 engine marker.
CREATE TABLE job_output (
    id     INTEGER PRIMARY KEY,
    job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    host   INTEGER NOT NULL,
    stream INTEGER NOT NULL,
    at_ms  INTEGER NOT NULL,
    data   BLOB    NOT NULL
);

CREATE INDEX job_output_by_job ON job_output (job_id, id);

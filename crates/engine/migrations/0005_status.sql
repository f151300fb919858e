-- Live status: the last probe of each VM, and a bounded history of figures.

-- One row per probed VM: what the dashboard shows before the first round of a new start.
CREATE TABLE status_latest (
    vm_id         INTEGER PRIMARY KEY REFERENCES vms (id) ON DELETE CASCADE,
    health        TEXT    NOT NULL CHECK (health IN ('online', 'degraded', 'offline', 'unknown')),
    -- When `health` last changed.
    since_ms      INTEGER NOT NULL,
    checked_ms    INTEGER NOT NULL,
    last_ok_ms    INTEGER,
    latency_ms    INTEGER,
    failures      INTEGER NOT NULL DEFAULT 0,
    -- The last successful reading (JSON of vmo_status::Reading): OS, kernel, sizes, CPU times.
    reading       TEXT,
    cpu_pct       REAL,
    breaches      TEXT    NOT NULL DEFAULT '[]',
    error_code    TEXT,
    error_message TEXT
);

-- Every probe, kept at full resolution for 24 hours.
CREATE TABLE status_samples (
    vm_id      INTEGER NOT NULL REFERENCES vms (id) ON DELETE CASCADE,
    at_ms      INTEGER NOT NULL,
    reached    INTEGER NOT NULL,
    latency_ms REAL,
    load       REAL,
    cpu_pct    REAL,
    mem_pct    REAL,
    disk_pct   REAL,
    PRIMARY KEY (vm_id, at_ms)
) WITHOUT ROWID;

-- Older probes as min/avg/max per 5 minutes, kept for 7 days.
CREATE TABLE status_rollups (
    vm_id       INTEGER NOT NULL REFERENCES vms (id) ON DELETE CASCADE,
    bucket_ms   INTEGER NOT NULL,
    samples     INTEGER NOT NULL,
    reached     INTEGER NOT NULL,
    latency_min REAL, latency_avg REAL, latency_max REAL,
    load_min    REAL, load_avg    REAL, load_max    REAL,
    cpu_min     REAL, cpu_avg     REAL, cpu_max     REAL,
    mem_min     REAL, mem_avg     REAL, mem_max     REAL,
    disk_min    REAL, disk_avg    REAL, disk_max    REAL,
    PRIMARY KEY (vm_id, bucket_ms)
) WITHOUT ROWID;

-- The VM inventory. Secrets are never stored here: `auth` names the method only.
CREATE TABLE vms (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    host       TEXT    NOT NULL,
    port       INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
    user       TEXT    NOT NULL DEFAULT '',
    auth       TEXT    NOT NULL CHECK (auth IN ('agent', 'key_file', 'password')),
    key_file   TEXT,
    jump_host  TEXT,
    notes      TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE vm_tags (
    vm_id INTEGER NOT NULL REFERENCES vms (id) ON DELETE CASCADE,
    tag   TEXT    NOT NULL,
    PRIMARY KEY (vm_id, tag)
);

CREATE INDEX vm_tags_by_tag ON vm_tags (tag);

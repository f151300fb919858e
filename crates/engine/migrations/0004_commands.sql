-- Command templates the user made or imported (the starter library lives in code).
-- `definition` is the template as vmo-command's JSON, so a new parameter field needs no
-- migration; the name is a column for uniqueness.
CREATE TABLE templates (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    definition TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Every command run, ad hoc or from a template: one row per distinct command text,
-- with how often and when last (frecency), and the template and values it last came from.
CREATE TABLE command_history (
    id              INTEGER PRIMARY KEY,
    command         TEXT    NOT NULL UNIQUE,
    template        TEXT,
    template_params TEXT,
    use_count       INTEGER NOT NULL DEFAULT 1,
    first_used_at   INTEGER NOT NULL,
    last_used_at    INTEGER NOT NULL
);

CREATE INDEX command_history_by_last_used ON command_history (last_used_at);

-- A job started from a template: its name and parameter values (JSON object).
ALTER TABLE jobs ADD COLUMN template TEXT;
ALTER TABLE jobs ADD COLUMN template_params TEXT;

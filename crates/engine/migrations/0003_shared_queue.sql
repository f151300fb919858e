-- Why a job's output could not all be kept (e.g. the disk was full), when that happened.
-- A job with a record error never counts as succeeded.
ALTER TABLE jobs ADD COLUMN record_error TEXT;

-- A cancel asked for by another process (the app cancelling a `vmo` job): the process
-- that runs the job watches these and stops what was asked.
ALTER TABLE jobs ADD COLUMN cancel_requested INTEGER NOT NULL DEFAULT 0;
ALTER TABLE job_hosts ADD COLUMN cancel_requested INTEGER NOT NULL DEFAULT 0;

-- Stevedore's own tables (schema version 1). Applied by `Stevedore.Host migrate` inside one transaction.
-- Task records are the durable state of task grains and the index behind GET /v1/tasks; payloads, logs and
-- results are kept apart from them.

CREATE TABLE IF NOT EXISTS stevedore_jobs (
    name        text PRIMARY KEY,
    job         jsonb NOT NULL,
    updated_at  timestamptz NOT NULL
);

CREATE TABLE IF NOT EXISTS stevedore_tasks (
    id           text PRIMARY KEY,          -- 32 hex digits, sorts by creation time
    job          text NOT NULL,
    status       smallint NOT NULL,         -- 0 queued, 1 running, 2 succeeded, 3 failed, 4 timed_out, 5 cancelled
    partition    integer NOT NULL,
    priority     smallint NOT NULL,
    run_after    timestamptz,
    lease_until  timestamptz,               -- while running: when the worker's lease lapses
    labels       jsonb NOT NULL,
    record       jsonb NOT NULL             -- the whole TaskRecord
);
CREATE INDEX IF NOT EXISTS stevedore_tasks_by_job ON stevedore_tasks (job, id DESC);
CREATE INDEX IF NOT EXISTS stevedore_tasks_by_status ON stevedore_tasks (status, id DESC);
CREATE INDEX IF NOT EXISTS stevedore_tasks_queued ON stevedore_tasks (partition) WHERE status = 0;
CREATE INDEX IF NOT EXISTS stevedore_tasks_running ON stevedore_tasks (job) WHERE status = 1;
CREATE INDEX IF NOT EXISTS stevedore_tasks_leases ON stevedore_tasks (lease_until) WHERE status = 1;
CREATE INDEX IF NOT EXISTS stevedore_tasks_by_label ON stevedore_tasks USING gin (labels jsonb_path_ops);

CREATE TABLE IF NOT EXISTS stevedore_payloads (
    task_id  text PRIMARY KEY,
    data     bytea NOT NULL
);

CREATE TABLE IF NOT EXISTS stevedore_results (
    task_id  text PRIMARY KEY,
    data     bytea NOT NULL
);

CREATE TABLE IF NOT EXISTS stevedore_logs (
    seq      bigserial PRIMARY KEY,
    task_id  text NOT NULL,
    attempt  integer NOT NULL,
    stream   smallint NOT NULL,             -- 1 stdout, 2 stderr, 3 stevedore's own lines
    data     bytea NOT NULL
);
CREATE INDEX IF NOT EXISTS stevedore_logs_by_task ON stevedore_logs (task_id, seq);

CREATE TABLE IF NOT EXISTS stevedore_idempotency (
    job         text NOT NULL,
    key         text NOT NULL,
    task_id     text NOT NULL,
    claimed_at  timestamptz NOT NULL,
    PRIMARY KEY (job, key)
);

-- Triggers (schema version 2): schedules, webhooks and the event topic index.

-- The index of schedules. A schedule's definition and bookkeeping are its grain's state (Orleans grain storage);
-- this table lists them by job, keeps their payload, and names the silo holding each active one, so that the
-- schedules of a silo that died are woken elsewhere at once instead of at their next reminder tick.
CREATE TABLE IF NOT EXISTS stevedore_schedules (
    id          text PRIMARY KEY,
    job         text NOT NULL,
    created_at  timestamptz NOT NULL,
    silo        text,
    payload     bytea NOT NULL
);
CREATE INDEX IF NOT EXISTS stevedore_schedules_by_job ON stevedore_schedules (job, created_at, id);
CREATE INDEX IF NOT EXISTS stevedore_schedules_by_silo ON stevedore_schedules (silo) WHERE silo IS NOT NULL;

-- Webhooks: the SHA-256 of the secret, never the secret.
CREATE TABLE IF NOT EXISTS stevedore_webhooks (
    id           text PRIMARY KEY,
    job          text NOT NULL,
    secret_hash  bytea NOT NULL,
    headers      jsonb NOT NULL,
    created_at   timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS stevedore_webhooks_by_job ON stevedore_webhooks (job, created_at, id);

-- Event topics: jobs list the topics they take in their definition; this index finds a topic's jobs without reading
-- every job, and being an index of the job row itself it can never disagree with the definitions.
CREATE INDEX IF NOT EXISTS stevedore_jobs_by_topic ON stevedore_jobs USING gin ((job -> 'spec' -> 'subscriptions'));

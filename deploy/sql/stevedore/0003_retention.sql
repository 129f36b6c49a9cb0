-- Schema version 3: retention of finished tasks, and keys shared by the silos' web consoles.

-- When a task reached its final status (null while queued or running): the janitor deletes by it, per job.
ALTER TABLE stevedore_tasks ADD COLUMN IF NOT EXISTS finished_at timestamptz;
UPDATE stevedore_tasks SET finished_at = (record->>'finishedAt')::timestamptz WHERE status >= 2 AND finished_at IS NULL;
CREATE INDEX IF NOT EXISTS stevedore_tasks_finished ON stevedore_tasks (job, finished_at) WHERE status >= 2;

-- Lapsed idempotency keys are swept by age.
CREATE INDEX IF NOT EXISTS stevedore_idempotency_claimed ON stevedore_idempotency (claimed_at);

-- ASP.NET Core data protection keys (antiforgery tokens of the console), so that a form served by one silo is
-- accepted by another.
CREATE TABLE IF NOT EXISTS stevedore_protection_keys (
    name        text PRIMARY KEY,
    xml         text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Schema version 4: when a task became queued (inserted, or back in the queue after a failed or lost attempt), so
-- queue partitions can reconcile with the task table window by window and find tasks whose delivery to them failed.
ALTER TABLE stevedore_tasks ADD COLUMN IF NOT EXISTS queued_at timestamptz NOT NULL DEFAULT now();
DROP INDEX IF EXISTS stevedore_tasks_queued;
CREATE INDEX IF NOT EXISTS stevedore_tasks_queued ON stevedore_tasks (partition, queued_at) WHERE status = 0;

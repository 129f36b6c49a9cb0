namespace Stevedore.Grains;

/// <summary>
/// The task state machine: every legal transition of a <see cref="TaskRecord"/>, as pure functions. A transition
/// that does not apply returns null and leaves the record as it was.
/// </summary>
public static class TaskTransitions
{
    /// <summary>
    /// Attempts a task may lose to lapsed leases or to container engines going away before it fails: a task that takes
    /// down every silo or engine it lands on must not run (and take them down) forever. Shutdowns do not count.
    /// </summary>
    public const int MaxLapsedLeases = 3;

    /// <summary>queued → running, as attempt n+1 on <paramref name="node"/>.</summary>
    public static TaskRecord? Start(TaskRecord task, string node, JobInfo job, DateTimeOffset now)
    {
        if (task.Status != TaskRunStatus.Queued || task.CancelRequested)
        {
            return null;
        }

        var attempt = task.Attempt + 1;
        return task with
        {
            Status = TaskRunStatus.Running,
            JobVersion = job.Version,
            Attempt = attempt,
            StartedAt = now,
            FinishedAt = null,
            RunAfter = null,
            Node = node,
            ExitCode = null,
            Error = null,
            Attempts = [.. task.Attempts, new AttemptRecord { Number = attempt, Node = node, StartedAt = now, Status = TaskRunStatus.Running }],
        };
    }

    /// <summary>
    /// running → succeeded | failed | timed_out | cancelled, or back to queued with <c>runAfter</c> when a failed or
    /// timed-out attempt has attempts left. An outcome for another attempt than the current one is ignored.
    /// </summary>
    public static TaskRecord? Finish(TaskRecord task, int attempt, RunOutcome outcome, JobSpec spec, DateTimeOffset now)
    {
        if (task.Status != TaskRunStatus.Running || task.Attempt != attempt || !outcome.Status.IsTerminal())
        {
            return null;
        }

        if (outcome.WorkerLost && !task.CancelRequested)
        {
            var lapsed = task.LapsedLeases + (outcome.LeaseLapsed || outcome.EngineLost ? 1 : 0);
            var lost = outcome.Error ?? "worker lost";
            if (lapsed >= MaxLapsedLeases)
            {
                return End(task with { LapsedLeases = lapsed }, attempt, TaskRunStatus.Failed, exitCode: null, now,
                    $"{lost}; the worker running this task was lost {lapsed} times (its lease lapsed, or its container engine went away), " +
                    "so the task may be what brings its silo or engine down: it is not run again");
            }

            // At-least-once: a lost attempt runs again at once and does not use up one of the job's retries.
            return End(task with { LapsedLeases = lapsed }, attempt, TaskRunStatus.Failed, exitCode: null, now, lost) with
            {
                Status = TaskRunStatus.Queued,
                FinishedAt = null,
                MaxAttempts = task.MaxAttempts + 1,
            };
        }

        var status = task.CancelRequested ? TaskRunStatus.Cancelled : outcome.Status;
        var error = status == TaskRunStatus.Cancelled ? outcome.Error ?? "cancelled" : outcome.Error;
        var ended = End(task, attempt, status, outcome.ExitCode, now, error);
        return status is TaskRunStatus.Failed or TaskRunStatus.TimedOut && attempt < task.MaxAttempts
            ? ended with { Status = TaskRunStatus.Queued, FinishedAt = null, RunAfter = now + RetryPolicy.DelayAfter(spec, attempt) }
            : ended;
    }

    /// <summary>The attempt ended with <paramref name="status"/>, and so does the task.</summary>
    private static TaskRecord End(TaskRecord task, int attempt, TaskRunStatus status, long? exitCode, DateTimeOffset now, string? error)
    {
        var attempts = task.Attempts.ToList();
        if (attempts.Count > 0 && attempts[^1].Number == attempt)
        {
            attempts[^1] = attempts[^1] with { FinishedAt = now, Status = status, ExitCode = exitCode, Error = error };
        }

        return task with { Status = status, ExitCode = exitCode, Error = error, FinishedAt = now, RunAfter = null, Attempts = attempts };
    }

    /// <summary>queued → cancelled at once; running → cancel requested (the worker kills it and reports).</summary>
    public static TaskRecord? Cancel(TaskRecord task, DateTimeOffset now) => task.Status switch
    {
        TaskRunStatus.Queued => task with { Status = TaskRunStatus.Cancelled, FinishedAt = now, RunAfter = null, Error = "cancelled", CancelRequested = true },
        TaskRunStatus.Running when !task.CancelRequested => task with { CancelRequested = true },
        _ => null,
    };

    /// <summary>queued → failed, for a task that can never start (its job was deleted).</summary>
    public static TaskRecord? Abandon(TaskRecord task, string reason, DateTimeOffset now) =>
        task.Status == TaskRunStatus.Queued
            ? task with { Status = TaskRunStatus.Failed, FinishedAt = now, RunAfter = null, Error = reason }
            : null;
}

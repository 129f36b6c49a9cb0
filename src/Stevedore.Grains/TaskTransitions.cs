namespace Stevedore.Grains;

/// <summary>
/// The task state machine: every legal transition of a <see cref="TaskRecord"/>, as pure functions. A transition
/// that does not apply returns null and leaves the record as it was.
/// </summary>
public static class TaskTransitions
{
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
            return RequeueLost(task, attempt, outcome.Error ?? "worker lost", now);
        }

        var status = task.CancelRequested ? TaskRunStatus.Cancelled : outcome.Status;
        var error = status == TaskRunStatus.Cancelled ? outcome.Error ?? "cancelled" : outcome.Error;
        var attempts = task.Attempts.ToList();
        if (attempts.Count > 0 && attempts[^1].Number == attempt)
        {
            attempts[^1] = attempts[^1] with { FinishedAt = now, Status = status, ExitCode = outcome.ExitCode, Error = error };
        }

        var retry = status is TaskRunStatus.Failed or TaskRunStatus.TimedOut && attempt < task.MaxAttempts;
        return task with
        {
            Status = retry ? TaskRunStatus.Queued : status,
            ExitCode = outcome.ExitCode,
            Error = error,
            FinishedAt = retry ? null : now,
            RunAfter = retry ? now + RetryPolicy.DelayAfter(spec, attempt) : null,
            Attempts = attempts,
        };
    }

    private static TaskRecord RequeueLost(TaskRecord task, int attempt, string error, DateTimeOffset now)
    {
        var attempts = task.Attempts.ToList();
        if (attempts.Count > 0 && attempts[^1].Number == attempt)
        {
            attempts[^1] = attempts[^1] with { FinishedAt = now, Status = TaskRunStatus.Failed, Error = error };
        }

        // At-least-once: a lost attempt runs again and does not use up one of the job's retries.
        return task with
        {
            Status = TaskRunStatus.Queued,
            Error = error,
            MaxAttempts = task.MaxAttempts + 1,
            RunAfter = null,
            Attempts = attempts,
        };
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

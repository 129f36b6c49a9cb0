namespace Stevedore.Grains;

/// <summary>Timings read off a task's record, for metrics and traces. Pure, so its cases are tested directly.</summary>
public static class TaskTimes
{
    /// <summary>
    /// Since when a queued task could have started: its creation, its due time (a delay or a retry's back-off), or the
    /// end of its previous attempt (a lost attempt queues again at once), whichever is latest.
    /// </summary>
    public static DateTimeOffset ReadySince(TaskRecord task)
    {
        var since = task.CreatedAt;
        if (task.Attempts.Count > 0 && task.Attempts[^1].FinishedAt is { } ended && ended > since)
        {
            since = ended;
        }

        if (task.RunAfter is { } due && due > since)
        {
            since = due;
        }

        return since;
    }

    /// <summary>The record of attempt <paramref name="number"/> once it has ended; null while it runs or when there is none.</summary>
    public static AttemptRecord? EndedAttempt(TaskRecord task, int number)
    {
        for (var i = task.Attempts.Count - 1; i >= 0; i--)
        {
            if (task.Attempts[i].Number == number)
            {
                return task.Attempts[i].FinishedAt is null ? null : task.Attempts[i];
            }
        }

        return null;
    }
}

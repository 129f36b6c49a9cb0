namespace Stevedore.Soak;

/// <summary>An attempt as the API shows it.</summary>
public sealed record AttemptSeen(int Number, string Status, DateTimeOffset StartedAt, DateTimeOffset? FinishedAt, string? Error)
{
    /// <summary>Cut off by its worker going away: runs again and uses up no retry.</summary>
    public bool Lost => Error?.StartsWith("worker lost", StringComparison.Ordinal) == true;
}

/// <summary>A task as the API shows it after the soak, with the idempotency key it was sent with.</summary>
public sealed record TaskSeen(string Id, string Job, string Status, string? Key, IReadOnlyList<AttemptSeen> Attempts)
{
    public bool Final => Status is "succeeded" or "failed" or "timed_out" or "cancelled";
}

/// <summary>One figure of the soak; a violation when <see cref="Violation"/> and its value is not 0.</summary>
public sealed record Figure(string Name, double Value, bool Violation = false)
{
    public bool Violated => Violation && Value != 0;
}

/// <summary>
/// What must hold after the soak, worked out from what the API and the engine show: pure, so each rule is checked on
/// its own cases (tests/Stevedore.UnitTests/SoakInvariantsTests.cs).
/// </summary>
public static class Invariants
{
    public static IReadOnlyList<Figure> Check(
        IReadOnlyList<TaskSeen> tasks,
        IReadOnlyList<SoakJob> jobs,
        IReadOnlyDictionary<string, IReadOnlyCollection<string>> answeredByKey,
        int containersLeft,
        DateTimeOffset now)
    {
        var byId = tasks.Select(t => t.Id).ToHashSet(StringComparer.Ordinal);
        var answered = answeredByKey.Values.SelectMany(ids => ids).ToHashSet(StringComparer.Ordinal);
        var figures = new List<Figure>
        {
            new("tasks.accepted", answered.Count),
            new("tasks.seen", tasks.Count),
            new("tasks.stuck", tasks.Count(t => !t.Final), Violation: true),
            new("tasks.lost", answered.Count(id => !byId.Contains(id)), Violation: true),
        };
        foreach (var status in new[] { "succeeded", "failed", "timed_out", "cancelled" })
        {
            figures.Add(new($"tasks.{status}", tasks.Count(t => t.Status == status)));
        }

        figures.Add(new("attempts", tasks.Sum(t => t.Attempts.Count)));
        figures.Add(new("attempts.worker_lost", tasks.Sum(t => t.Attempts.Count(a => a.Lost))));
        // Attempts the worker ended with an error of its own (the engine went away mid-run): each uses up a retry.
        figures.Add(new("attempts.worker_error", tasks.Sum(t => t.Attempts.Count(a => a.Error?.StartsWith("worker error", StringComparison.Ordinal) == true))));
        figures.Add(new("succeeded_twice", tasks.Count(SucceededTwice), Violation: true));
        figures.Add(new("attempt_numbers_broken", tasks.Count(t => !NumberedInOrder(t)), Violation: true));
        figures.Add(new("retries_exceeded", tasks.Count(t => RetriesExceeded(t, jobs)), Violation: true));
        foreach (var job in jobs.Where(j => j.MaxConcurrency > 0))
        {
            var intervals = tasks.Where(t => t.Job == job.Name).SelectMany(t => t.Attempts)
                .Select(a => (a.StartedAt, a.FinishedAt ?? now)).ToList();
            var (most, over) = Overlap(intervals, job.MaxConcurrency);
            figures.Add(new($"max_concurrency.{job.Name}.limit", job.MaxConcurrency));
            figures.Add(new($"max_concurrency.{job.Name}.observed", most));
            figures.Add(new($"max_concurrency.{job.Name}.exceeded", over, Violation: true));
        }

        figures.Add(new("containers_left", containersLeft, Violation: true));
        figures.Add(new("idempotency.keys_with_two_tasks", KeysWithTwoTasks(tasks, answeredByKey), Violation: true));
        return figures;
    }

    /// <summary>More than one attempt succeeded (also: one attempt number succeeding twice).</summary>
    public static bool SucceededTwice(TaskSeen task) => task.Attempts.Count(a => a.Status == "succeeded") > 1;

    /// <summary>Attempts are numbered 1, 2, … n, each once.</summary>
    public static bool NumberedInOrder(TaskSeen task) => task.Attempts.Select(a => a.Number).SequenceEqual(Enumerable.Range(1, task.Attempts.Count));

    /// <summary>More attempts that count (not lost to a worker) than the job's retries allow.</summary>
    public static bool RetriesExceeded(TaskSeen task, IReadOnlyList<SoakJob> jobs) =>
        jobs.FirstOrDefault(j => j.Name == task.Job) is { } job && task.Attempts.Count(a => !a.Lost) > job.Retries + 1;

    /// <summary>
    /// The most intervals open at once, and how many starts went past <paramref name="limit"/>. An interval that ends
    /// at the instant another starts does not overlap it.
    /// </summary>
    public static (int Most, int Over) Overlap(IEnumerable<(DateTimeOffset Start, DateTimeOffset End)> intervals, int limit)
    {
        var edges = intervals.SelectMany(i => new[] { (At: i.Start, Step: 1), (At: i.End, Step: -1) })
            .OrderBy(e => e.At).ThenBy(e => e.Step);
        int open = 0, most = 0, over = 0;
        foreach (var (_, step) in edges)
        {
            open += step;
            if (step > 0 && open > limit)
            {
                over++;
            }

            most = Math.Max(most, open);
        }

        return (most, over);
    }

    /// <summary>Keys that the API answered with two task ids, or that two stored tasks carry.</summary>
    public static int KeysWithTwoTasks(IReadOnlyList<TaskSeen> tasks, IReadOnlyDictionary<string, IReadOnlyCollection<string>> answeredByKey)
    {
        var ids = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var (key, answered) in answeredByKey)
        {
            ids[key] = [.. answered];
        }

        foreach (var task in tasks.Where(t => t.Key is not null))
        {
            if (!ids.TryGetValue(task.Key!, out var set))
            {
                ids[task.Key!] = set = new HashSet<string>(StringComparer.Ordinal);
            }

            set.Add(task.Id);
        }

        return ids.Values.Count(set => set.Count > 1);
    }
}

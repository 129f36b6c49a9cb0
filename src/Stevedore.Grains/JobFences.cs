namespace Stevedore.Grains;

/// <summary>
/// What a queue partition knows of its jobs' current definitions, to refuse starts leased with an older one: a lease
/// carries the job as it was when handed out, and a PUT, pause or delete may come between the lease and the start.
/// Also which admitted starts are not recorded yet, so a change can wait for them. Pure logic, tested directly.
/// </summary>
internal sealed class JobFences
{
    // Per existing job: its state at the latest fence, or as asked of the job grain. A deleted job has no entry (its
    // grain is asked again), so deletes of names that never existed leave nothing behind.
    private readonly Dictionary<string, JobInfo> _current = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (string Job, DateTimeOffset At)> _admitted = new(StringComparer.Ordinal);

    /// <summary>True when a start leased with <paramref name="leasedWith"/> may go ahead under <paramref name="current"/>.</summary>
    public static bool Admits(JobInfo? current, JobInfo leasedWith)
    {
        if (current is null)
        {
            return false; // deleted
        }

        if (leasedWith.CreatedAt != current.CreatedAt)
        {
            // Deleted and created again: only a lease of the newer incarnation may start.
            return leasedWith.CreatedAt > current.CreatedAt;
        }

        return !current.Paused && leasedWith.Version >= current.Version;
    }

    public bool Knows(string job) => _current.ContainsKey(job);

    /// <summary>The job's state asked of its grain, for a job no fence has told about since this partition activated.</summary>
    public void Learn(string job, JobInfo? state)
    {
        if (state is not null)
        {
            _current.TryAdd(job, state);
        }
    }

    /// <summary>Records the job's new state; returns the tasks of the job admitted and not yet recorded as started.</summary>
    public IReadOnlyList<string> Fence(string job, JobInfo? state)
    {
        if (state is null)
        {
            _current.Remove(job);
        }
        else
        {
            _current[job] = state;
        }

        return _admitted.Where(a => a.Value.Job == job).Select(a => a.Key).ToList();
    }

    /// <summary>Decides a start; an admitted one is remembered until <see cref="Recorded"/>.</summary>
    public bool Admit(string taskId, JobInfo leasedWith, DateTimeOffset now)
    {
        if (!Admits(_current.GetValueOrDefault(leasedWith.Name), leasedWith))
        {
            return false;
        }

        _admitted[taskId] = (leasedWith.Name, now);
        return true;
    }

    public void Recorded(string taskId) => _admitted.Remove(taskId);

    /// <summary>Forgets admitted starts older than <paramref name="cutoff"/>: their grain died before recording them.</summary>
    public void ForgetAdmittedBefore(DateTimeOffset cutoff)
    {
        foreach (var id in _admitted.Where(a => a.Value.At < cutoff).Select(a => a.Key).ToList())
        {
            _admitted.Remove(id);
        }
    }

    public int AdmittedCount => _admitted.Count;
}

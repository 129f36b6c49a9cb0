namespace Stevedore.Execution.Docker.Spares;

/// <summary>
/// Which job versions keep pre-started containers ("spares") on this node, how many, and which to retire. Pure: no
/// engine and no clock of its own; not thread-safe (its owner locks around it). A spare is taken by one task and never
/// returned: each container still serves exactly one task.
/// </summary>
/// <remarks>
/// Sized by demand: while tasks of a job version run here, it keeps as many spares as run at once (at least one, at
/// most <c>perJob</c>), so a steady stream of tasks finds one ready and a burst refills as wide as it ran. A version
/// nobody used for <c>idle</c> loses its spares; a newer version of the job retires those of the older ones at once.
/// A version is told apart by its number and its definition (a job deleted and made again starts at version 1).
/// </remarks>
public sealed class SparePool<T>(int perJob, int max, TimeSpan idle, TimeSpan backoff)
    where T : class
{
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    // The lowest version of each job that may still keep spares (set by Retire): a task of an older one runs cold.
    private readonly Dictionary<string, long> _floors = new(StringComparer.Ordinal);
    private int _held; // ready + starting, across every entry

    /// <summary>Bumped by <see cref="Drain"/>: a spare whose start began before it is not taken in.</summary>
    public int Generation { get; private set; }

    /// <summary>Spares ready or being started.</summary>
    public int Held => _held;

    /// <summary>Spares of <paramref name="job"/> ready for its next task.</summary>
    public int Ready(string job) => _entries.TryGetValue(job, out var entry) ? entry.Ready.Count : 0;

    /// <summary>
    /// A task of <paramref name="job"/> version <paramref name="version"/> begins on this node. Returns a ready spare
    /// for it, or null (it runs cold); <paramref name="toStart"/> is how many spares to start now for the next tasks
    /// (counted as starting from here on); <paramref name="retired"/> gets the spares of the job's other versions.
    /// </summary>
    public T? Begin(string job, long version, string definition, DateTimeOffset now, out int toStart, List<T> retired)
    {
        var entry = EntryFor(job, version, definition, retired);
        entry.Running++;
        entry.LastUsed = now;
        var spare = entry.Ready.Count > 0 ? entry.Ready.Dequeue() : null;
        if (spare is not null)
        {
            _held--;
        }

        toStart = 0;
        if (entry.RetryAt is { } retryAt && now < retryAt)
        {
            return spare;
        }

        var wanted = Math.Min(perJob, entry.Running) - entry.Ready.Count - entry.Starting;
        toStart = Math.Max(0, Math.Min(wanted, max - _held));
        entry.Starting += toStart;
        _held += toStart;
        return spare;
    }

    /// <summary>A task begun with <see cref="Begin"/> ended.</summary>
    public void End(string job, long version, string definition, DateTimeOffset now)
    {
        if (_entries.TryGetValue(job, out var entry) && entry.Is(version, definition))
        {
            entry.Running = Math.Max(0, entry.Running - 1);
            entry.LastUsed = now;
        }
    }

    /// <summary>
    /// A spare counted by <see cref="Begin"/> is up. True when the pool keeps it; false when it is no longer wanted
    /// (its version was retired, or the pool drained since): the caller removes it.
    /// </summary>
    public bool Started(string job, long version, string definition, int generation, T spare)
    {
        if (!TryStarting(job, version, definition, generation, out var entry))
        {
            return false;
        }

        entry.Starting--;
        entry.Ready.Enqueue(spare);
        return true;
    }

    /// <summary>
    /// A spare counted by <see cref="Begin"/> could not be started: none is tried for this version until
    /// <paramref name="now"/> + backoff, or at the next task when <paramref name="backOff"/> is false (a passing cause).
    /// </summary>
    public void StartFailed(string job, long version, string definition, int generation, DateTimeOffset now, bool backOff = true)
    {
        if (TryStarting(job, version, definition, generation, out var entry))
        {
            entry.Starting--;
            _held--;
            entry.RetryAt = backOff ? now + backoff : null;
        }
    }

    /// <summary>A ready spare went away by itself (its container ended): forget it. False when it was not ready here.</summary>
    public bool Forget(string job, T spare)
    {
        if (!_entries.TryGetValue(job, out var entry) || !entry.Ready.Contains(spare))
        {
            return false;
        }

        var rest = entry.Ready.Where(s => !ReferenceEquals(s, spare)).ToList();
        entry.Ready.Clear();
        rest.ForEach(entry.Ready.Enqueue);
        _held--;
        return true;
    }

    /// <summary>The ready spares of versions nobody began a task of for longer than the idle time, taken out of the pool.</summary>
    public List<T> Expire(DateTimeOffset now)
    {
        var expired = new List<T>();
        foreach (var (job, entry) in _entries.ToList())
        {
            if (entry.Running == 0 && now - entry.LastUsed >= idle)
            {
                TakeAll(entry, expired);
                if (entry.Starting == 0)
                {
                    _entries.Remove(job);
                }
            }
        }

        return expired;
    }

    /// <summary>
    /// The job changed: its spares of any version but <paramref name="current"/> (all of them when it was deleted), taken out of
    /// the pool.
    /// </summary>
    public List<T> Retire(string job, long? current)
    {
        var retired = new List<T>();
        if (current is { } floor)
        {
            _floors[job] = Math.Max(floor, _floors.GetValueOrDefault(job));
        }
        else
        {
            _floors.Remove(job); // deleted (or paused): made again, it starts at version 1
        }

        if (_entries.TryGetValue(job, out var entry) && entry.Version != current)
        {
            RemoveEntry(job, entry, retired);
        }

        return retired;
    }

    /// <summary>Every ready spare, taken out; spares still starting will not be taken in.</summary>
    public List<T> Drain()
    {
        var all = new List<T>();
        foreach (var entry in _entries.Values)
        {
            TakeAll(entry, all);
            entry.Starting = 0;
        }

        _entries.Clear();
        _held = 0;
        Generation++;
        return all;
    }

    private Entry EntryFor(string job, long version, string definition, List<T> retired)
    {
        if (_entries.TryGetValue(job, out var entry))
        {
            if (entry.Is(version, definition))
            {
                return entry;
            }

            if (entry.Version > version)
            {
                // A task of an older version (leased before the change): it runs cold, and keeps nothing.
                return Cold(version, definition);
            }

            // A newer version, or the same number for another definition (the job was deleted and made again).
            RemoveEntry(job, entry, retired);
        }

        if (version < _floors.GetValueOrDefault(job))
        {
            return Cold(version, definition);
        }

        entry = new Entry(version, definition);
        _entries[job] = entry;
        return entry;
    }

    private static Entry Cold(long version, string definition) => new(version, definition) { RetryAt = DateTimeOffset.MaxValue };

    private void RemoveEntry(string job, Entry entry, List<T> into)
    {
        TakeAll(entry, into);
        _held -= entry.Starting;
        _entries.Remove(job);
    }

    private bool TryStarting(string job, long version, string definition, int generation, out Entry entry)
    {
        entry = null!;
        return generation == Generation
            && _entries.TryGetValue(job, out entry!)
            && entry.Is(version, definition)
            && entry.Starting > 0;
    }

    private void TakeAll(Entry entry, List<T> into)
    {
        _held -= entry.Ready.Count;
        into.AddRange(entry.Ready);
        entry.Ready.Clear();
    }

    private sealed class Entry(long version, string definition)
    {
        public long Version { get; } = version;
        public string Definition { get; } = definition;
        public Queue<T> Ready { get; } = new();
        public int Starting { get; set; }
        public int Running { get; set; }
        public DateTimeOffset LastUsed { get; set; }
        public DateTimeOffset? RetryAt { get; set; }

        public bool Is(long version, string definition) => Version == version && string.Equals(Definition, definition, StringComparison.Ordinal);
    }
}

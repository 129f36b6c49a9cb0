namespace Stevedore.Execution.Hot;

/// <summary>What <see cref="HotPool.Acquire"/> tells the caller to do.</summary>
public enum HotAcquireKind
{
    /// <summary>Serve the task with the idle container <see cref="HotAcquire.Container"/>, now marked busy.</summary>
    Use,
    /// <summary>Start a new container with the id <see cref="HotAcquire.Container"/>, already counted as busy.</summary>
    Start,
    /// <summary>Every container the job may have on this node is busy: wait until one is released or retired.</summary>
    Wait,
}

/// <summary>A decision of the pool, and the idle containers to stop now (whatever the kind).</summary>
public sealed record HotAcquire(HotAcquireKind Kind, long Container, IReadOnlyList<long> Retire);

/// <summary>
/// Which hot container serves which task, and when a container is retired. Pure (no containers, no clock of its
/// own: every call takes the time), not thread-safe (the caller serialises calls), and tested by a table of cases.
/// <list type="bullet">
/// <item>A container belongs to one job version and serves one task at a time.</item>
/// <item>A job has at most <c>maxPerNode</c> containers of its current version on this node; the pool as a whole
/// never holds more than the node's slots: starting one more retires the least recently used idle container.</item>
/// <item>A task of a newer version retires the older version's containers (idle ones at once, busy ones when their
/// task ends); <see cref="RetireJob"/> does the same for a job that was changed, paused or deleted.</item>
/// <item>A container idle for the job's <c>idleSeconds</c> is retired (<see cref="Expired"/>).</item>
/// <item>A container whose task did not end with a clean response (timeout, cancel, death, malformed frame) is
/// retired when released.</item>
/// </list>
/// </summary>
public sealed class HotPool(int nodeCapacity)
{
    private sealed class Entry
    {
        public required string Job { get; init; }
        public required long Version { get; init; }
        public required TimeSpan Idle { get; init; }
        public bool Busy { get; set; }
        public bool Retiring { get; set; }
        public DateTimeOffset IdleSince { get; set; }
    }

    private readonly Dictionary<long, Entry> _entries = [];
    private long _nextId;

    /// <summary>Containers the pool holds now, busy or idle.</summary>
    public int Count => _entries.Count;

    public int CountOf(string job) => _entries.Values.Count(e => e.Job == job);

    public bool IsBusy(long container) => _entries.TryGetValue(container, out var e) && e.Busy;

    /// <summary>Finds or makes a container for one task of <paramref name="job"/> at <paramref name="version"/>.</summary>
    public HotAcquire Acquire(string job, long version, HotSpec spec, DateTimeOffset now)
    {
        var retire = new List<long>();
        foreach (var (id, e) in _entries)
        {
            if (e.Job == job && e.Version < version)
            {
                MarkRetiring(id, e, retire);
            }
        }

        foreach (var id in retire)
        {
            _entries.Remove(id);
        }

        // The most recently used idle container: the others stay idle and age out first.
        long? chosen = null;
        var latest = DateTimeOffset.MinValue;
        var current = 0;
        foreach (var (id, e) in _entries)
        {
            if (e.Job != job || e.Version != version || e.Retiring)
            {
                continue;
            }

            current++;
            if (!e.Busy && e.IdleSince >= latest)
            {
                chosen = id;
                latest = e.IdleSince;
            }
        }

        if (chosen is { } use)
        {
            _entries[use].Busy = true;
            return new HotAcquire(HotAcquireKind.Use, use, retire);
        }

        // A task leased with an older definition just before a change: served by a container of its own, stopped after it.
        var stale = version < NewestVersion(job);
        if (current >= spec.MaxPerNode && !stale)
        {
            return new HotAcquire(HotAcquireKind.Wait, 0, retire);
        }

        if (_entries.Count >= nodeCapacity)
        {
            var lru = _entries.Where(kv => !kv.Value.Busy).OrderBy(kv => kv.Value.IdleSince).Select(kv => (long?)kv.Key).FirstOrDefault();
            if (lru is not { } evicted)
            {
                return new HotAcquire(HotAcquireKind.Wait, 0, retire);
            }

            _entries.Remove(evicted);
            retire.Add(evicted);
        }

        var started = ++_nextId;
        _entries[started] = new Entry { Job = job, Version = version, Idle = TimeSpan.FromSeconds(spec.IdleSeconds), Busy = true, Retiring = stale };
        return new HotAcquire(HotAcquireKind.Start, started, retire);
    }

    /// <summary>
    /// The task on <paramref name="container"/> ended. True when the container must be stopped now: its task did
    /// not end cleanly (<paramref name="reusable"/> false), or it was marked for retirement meanwhile.
    /// </summary>
    public bool Release(long container, bool reusable, DateTimeOffset now)
    {
        if (!_entries.TryGetValue(container, out var e))
        {
            return true;
        }

        if (!reusable || e.Retiring)
        {
            _entries.Remove(container);
            return true;
        }

        e.Busy = false;
        e.IdleSince = now;
        return false;
    }

    /// <summary>Forgets a container that could not be started.</summary>
    public void Forget(long container) => _entries.Remove(container);

    /// <summary>
    /// The job changed, was paused or deleted: its containers of any version but <paramref name="keep"/> (all when
    /// null) retire. Returns the idle ones to stop now; busy ones stop when released.
    /// </summary>
    public IReadOnlyList<long> RetireJob(string job, long? keep = null)
    {
        var retire = new List<long>();
        foreach (var (id, e) in _entries)
        {
            if (e.Job == job && e.Version != keep)
            {
                MarkRetiring(id, e, retire);
            }
        }

        foreach (var id in retire)
        {
            _entries.Remove(id);
        }

        return retire;
    }

    /// <summary>Idle containers whose job's <c>idleSeconds</c> have passed since their last task: stop them.</summary>
    public IReadOnlyList<long> Expired(DateTimeOffset now)
    {
        var retire = _entries.Where(kv => !kv.Value.Busy && now - kv.Value.IdleSince >= kv.Value.Idle).Select(kv => kv.Key).ToList();
        foreach (var id in retire)
        {
            _entries.Remove(id);
        }

        return retire;
    }

    /// <summary>Every container, to stop when the node shuts down.</summary>
    public IReadOnlyList<long> RetireAll()
    {
        var all = _entries.Keys.ToList();
        _entries.Clear();
        return all;
    }

    private long NewestVersion(string job) => _entries.Values.Where(e => e.Job == job && !e.Retiring).Select(e => e.Version).DefaultIfEmpty(0).Max();

    private static void MarkRetiring(long id, Entry e, List<long> idleNow)
    {
        if (e.Busy)
        {
            e.Retiring = true;
        }
        else
        {
            idleNow.Add(id);
        }
    }
}

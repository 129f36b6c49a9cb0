namespace Stevedore.Grains;

/// <summary>
/// The in-memory order of one queue partition: ready tasks by priority (high first) then age (task ids sort by
/// creation time), delayed tasks by due time, and tasks set aside while their job is paused or at its limit.
/// Pure logic, no grain concerns, so it is unit tested directly.
/// </summary>
internal sealed class ReadyQueue
{
    private static readonly Comparer<QueueEntry> s_readyOrder = Comparer<QueueEntry>.Create(static (a, b) =>
    {
        var byPriority = b.Priority.CompareTo(a.Priority);
        return byPriority != 0 ? byPriority : string.CompareOrdinal(a.TaskId, b.TaskId);
    });

    private static readonly Comparer<QueueEntry> s_dueOrder = Comparer<QueueEntry>.Create(static (a, b) =>
    {
        var byDue = Nullable.Compare(a.RunAfter, b.RunAfter);
        return byDue != 0 ? byDue : string.CompareOrdinal(a.TaskId, b.TaskId);
    });

    private readonly SortedSet<QueueEntry> _ready = new(s_readyOrder);
    private readonly SortedSet<QueueEntry> _delayed = new(s_dueOrder);
    private readonly Dictionary<string, SortedSet<QueueEntry>> _blocked = new(StringComparer.Ordinal);
    private readonly Dictionary<string, QueueEntry> _byId = new(StringComparer.Ordinal);
    // Per job: the entry the job grain holds as this partition's head (it refused it a slot, or was told of it).
    private readonly Dictionary<string, QueueEntry> _announced = new(StringComparer.Ordinal);
    // Jobs whose head here may differ from the announced one (a better entry set aside, the announced one removed).
    private readonly HashSet<string> _headsToCheck = new(StringComparer.Ordinal);

    public int ReadyCount => _ready.Count;

    /// <summary>The priority of the first ready entry; 0 when none is ready.</summary>
    public int BestReadyPriority => _ready.Count > 0 ? _ready.Min.Priority : 0;

    public bool Contains(string taskId) => _byId.ContainsKey(taskId);
    public int Count => _byId.Count;
    public DateTimeOffset? NextDueAt => _delayed.Count > 0 ? _delayed.Min.RunAfter : null;

    /// <summary>Adds an entry; a task already held is replaced. Returns true when the entry is ready now.</summary>
    public bool Add(QueueEntry entry, DateTimeOffset now)
    {
        Remove(entry.TaskId);
        _byId[entry.TaskId] = entry;
        if (entry.RunAfter is { } due && due > now)
        {
            _delayed.Add(entry);
            return false;
        }

        if (_blocked.TryGetValue(entry.Job, out var blocked))
        {
            AddBlocked(blocked, entry);
            return false;
        }

        _ready.Add(entry);
        return true;
    }

    /// <summary>Moves delayed entries that are due into the ready set; returns how many became ready.</summary>
    public int PromoteDue(DateTimeOffset now)
    {
        var promoted = 0;
        while (_delayed.Count > 0 && _delayed.Min.RunAfter <= now)
        {
            var entry = _delayed.Min;
            _delayed.Remove(entry);
            if (_blocked.TryGetValue(entry.Job, out var blocked))
            {
                AddBlocked(blocked, entry);
            }
            else
            {
                _ready.Add(entry);
                promoted++;
            }
        }

        return promoted;
    }

    private void AddBlocked(SortedSet<QueueEntry> blocked, QueueEntry entry)
    {
        blocked.Add(entry);
        if (blocked.Min.TaskId == entry.TaskId)
        {
            _headsToCheck.Add(entry.Job);
        }
    }

    /// <summary>
    /// What the job grains must hear about this partition's heads since the last call: a job's best waiting entry that
    /// differs from the one its grain holds (a higher priority or a retry of an older task was set aside, or the held
    /// one was removed and another of the job is left) is reported; a held head removed with none of its job left is
    /// withdrawn. So a free run slot is never kept for a task that no longer waits here.
    /// </summary>
    public IReadOnlyList<HeadChange> TakeHeadChanges()
    {
        if (_headsToCheck.Count == 0)
        {
            return [];
        }

        var changes = new List<HeadChange>();
        foreach (var job in _headsToCheck)
        {
            var known = _announced.TryGetValue(job, out var announced) ? announced : (QueueEntry?)null;
            // Once its job is woken, a head waits among the ready entries until the partition asks for it.
            var head = _blocked.TryGetValue(job, out var blocked) && blocked.Count > 0 ? blocked.Min
                : known is null ? null : BestReady(job);
            if (head is { } best && best.TaskId != known?.TaskId)
            {
                _announced[job] = best;
                changes.Add(new HeadChange(job, best.TaskId, best.Priority, Withdrawn: false));
            }
            else if (head is null && known is { } gone)
            {
                _announced.Remove(job);
                changes.Add(new HeadChange(job, gone.TaskId, gone.Priority, Withdrawn: true));
            }
        }

        _headsToCheck.Clear();
        return changes;
    }

    private QueueEntry? BestReady(string job)
    {
        foreach (var entry in _ready)
        {
            if (entry.Job == job)
            {
                return entry;
            }
        }

        return null;
    }

    /// <summary>Takes the first ready entry out of the queue.</summary>
    public bool TryTake(out QueueEntry entry)
    {
        if (_ready.Count == 0)
        {
            entry = default;
            return false;
        }

        entry = _ready.Min;
        _ready.Remove(entry);
        _byId.Remove(entry.TaskId);
        if (_announced.TryGetValue(entry.Job, out var announced) && announced.TaskId == entry.TaskId)
        {
            _announced.Remove(entry.Job); // its request for a slot follows: the job grain takes it from there
        }

        return true;
    }

    /// <summary>
    /// Sets a taken entry aside, with every ready entry of its job, until <see cref="Unblock"/>: its job grain refused
    /// it a slot and holds it as this partition's head.
    /// </summary>
    public void Block(QueueEntry entry)
    {
        if (!_blocked.TryGetValue(entry.Job, out var blocked))
        {
            blocked = new SortedSet<QueueEntry>(s_readyOrder);
            _blocked[entry.Job] = blocked;
            _ready.RemoveWhere(e =>
            {
                if (e.Job != entry.Job)
                {
                    return false;
                }

                blocked.Add(e);
                return true;
            });
        }

        blocked.Add(entry);
        _byId[entry.TaskId] = entry;
        _announced[entry.Job] = entry;
        if (blocked.Min.TaskId != entry.TaskId)
        {
            _headsToCheck.Add(entry.Job);
        }
    }

    /// <summary>Makes a job's set-aside entries ready again; returns how many.</summary>
    public int Unblock(string job)
    {
        if (!_blocked.Remove(job, out var blocked))
        {
            return 0;
        }

        _ready.UnionWith(blocked);
        return blocked.Count;
    }

    /// <summary>
    /// Per job: the entries held (ready, delayed or set aside), and since when the longest-waiting entry that could run
    /// now has been able to (its due time, else its creation); null when none of the job's entries is due.
    /// </summary>
    public Dictionary<string, (int Count, DateTimeOffset? OldestReadySince)> Depths(DateTimeOffset now)
    {
        var depths = new Dictionary<string, (int Count, DateTimeOffset? OldestReadySince)>(StringComparer.Ordinal);
        foreach (var entry in _byId.Values)
        {
            depths.TryGetValue(entry.Job, out var depth);
            var oldest = depth.OldestReadySince;
            if (entry.RunAfter is not { } due || due <= now)
            {
                var created = TaskIds.CreatedAt(entry.TaskId);
                var since = entry.RunAfter is { } at && at > created ? at : created;
                oldest = oldest is null || since < oldest ? since : oldest;
            }

            depths[entry.Job] = (depth.Count + 1, oldest);
        }

        return depths;
    }

    public bool Remove(string taskId)
    {
        if (!_byId.Remove(taskId, out var entry))
        {
            return false;
        }

        if (!_ready.Remove(entry) && !_delayed.Remove(entry) && _blocked.TryGetValue(entry.Job, out var blocked))
        {
            blocked.Remove(entry);
        }

        if (_announced.TryGetValue(entry.Job, out var announced) && announced.TaskId == taskId)
        {
            _headsToCheck.Add(entry.Job);
        }

        return true;
    }
}

/// <summary>A change of a partition's head for its job grain: <paramref name="Withdrawn"/> names a head that left with no other.</summary>
internal readonly record struct HeadChange(string Job, string TaskId, int Priority, bool Withdrawn);

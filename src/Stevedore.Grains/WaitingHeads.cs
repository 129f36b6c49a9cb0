namespace Stevedore.Grains;

/// <summary>
/// Priority across queue partitions for a job with <c>maxConcurrency</c>: the best task each partition holds of the
/// job while it waits for a run slot (its head, reported when a slot is refused, or when a better task joins the
/// waiting ones), so the job grain grants a free slot to the best head across partitions rather than to whichever
/// partition asks first. Pure logic, no grain concerns, tested directly; the job grain applies its answers.
/// </summary>
/// <remarks>
/// A head outranks another by priority (high first), then age (task ids sort by creation). A request is granted when
/// fewer known heads of other partitions outrank it than slots are free; otherwise it waits, and the partitions holding
/// the heads that outrank it are woken to claim the slots. A woken partition that does not come back within the claim
/// window (it has no worker to lease to, or it lost its state with its silo) loses its place, so a slot never stays
/// reserved for nobody; a partition whose head is cancelled or removed withdraws or replaces it at once.
/// </remarks>
internal sealed class WaitingHeads(TimeSpan claimWindow)
{
    private readonly Dictionary<int, Head> _heads = [];

    /// <summary>A partition's best waiting task; <paramref name="OfferedAt"/> is when it was woken to claim a slot.</summary>
    public readonly record struct Head(string TaskId, int Priority, DateTimeOffset? OfferedAt);

    public IReadOnlyDictionary<int, Head> Heads => _heads;

    /// <summary>When the earliest offer lapses, if any was made.</summary>
    public DateTimeOffset? NextLapse
    {
        get
        {
            DateTimeOffset? next = null;
            foreach (var head in _heads.Values)
            {
                if (head.OfferedAt is { } at && (next is null || at + claimWindow < next))
                {
                    next = at + claimWindow;
                }
            }

            return next;
        }
    }

    /// <summary>
    /// Records <paramref name="partition"/>'s head (refused a slot now, a better task arrived there, or its head left
    /// and this one follows). True when it replaces a head a slot was kept for: the waiting partitions ask again.
    /// </summary>
    public bool Report(int partition, string taskId, int priority)
    {
        var known = _heads.TryGetValue(partition, out var head) ? head : (Head?)null;
        if (known?.TaskId == taskId)
        {
            return false; // the same head: an offer stands
        }

        _heads[partition] = new Head(taskId, priority, OfferedAt: null);
        return known?.OfferedAt is not null;
    }

    /// <summary>
    /// <paramref name="partition"/>'s head <paramref name="taskId"/> no longer waits there (cancelled, removed, or it
    /// took a slot another way); a later head of that partition is kept. True when a slot was kept for it: the waiting
    /// partitions ask again.
    /// </summary>
    public bool Withdraw(int partition, string taskId)
    {
        if (!_heads.TryGetValue(partition, out var known) || known.TaskId != taskId)
        {
            return false;
        }

        _heads.Remove(partition);
        return known.OfferedAt is not null;
    }

    /// <summary>
    /// A request from <paramref name="partition"/> for its head when <paramref name="free"/> slots are free (more than
    /// 0). Returns null when it may take one (its head is forgotten: the partition reports its next one when refused);
    /// otherwise the partitions to wake, whose heads outrank it, and the request's head is kept as waiting.
    /// </summary>
    public IReadOnlyList<int>? Decide(int partition, string taskId, int priority, int free, DateTimeOffset now)
    {
        DropLapsed(now);
        _heads.Remove(partition);
        var outranking = _heads
            .Where(h => Outranks(h.Value, priority, taskId))
            .OrderByDescending(h => h.Value.Priority)
            .ThenBy(h => h.Value.TaskId, StringComparer.Ordinal)
            .Take(free)
            .ToList();
        if (outranking.Count < free)
        {
            return null;
        }

        _heads[partition] = new Head(taskId, priority, OfferedAt: null);
        var wake = new List<int>(outranking.Count);
        foreach (var (p, head) in outranking)
        {
            if (head.OfferedAt is null)
            {
                _heads[p] = head with { OfferedAt = now };
                wake.Add(p);
            }
        }

        return wake;
    }

    /// <summary>Forgets offers older than the claim window; true when any was.</summary>
    public bool DropLapsed(DateTimeOffset now)
    {
        var lapsed = _heads.Where(h => h.Value.OfferedAt is { } at && now - at >= claimWindow).Select(h => h.Key).ToList();
        foreach (var p in lapsed)
        {
            _heads.Remove(p);
        }

        return lapsed.Count > 0;
    }

    public void Clear() => _heads.Clear();

    private static bool Outranks(Head head, int priority, string taskId) =>
        head.Priority != priority ? head.Priority > priority : string.CompareOrdinal(head.TaskId, taskId) < 0;
}

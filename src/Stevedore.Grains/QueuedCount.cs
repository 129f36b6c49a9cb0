namespace Stevedore.Grains;

/// <summary>
/// A job grain's count of its queued tasks, for <c>maxQueued</c>. Pure: the grain counts the store when
/// <see cref="NeedsCount"/> says so and applies the answers.
/// </summary>
/// <remarks>
/// The count is an upper bound of the tasks that wait plus those admitted but not yet stored, so concurrent enqueues
/// can never pass the limit: the job grain admits one call at a time, adds what it admits, and only lowers the count by
/// counting the store again (tasks leave the queue on other silos without telling the job grain). A recount happens when
/// an admission would not fit, at most once per <c>recountInterval</c>, so a caller hammering a full queue costs one
/// count query per interval. Admitted tasks not yet settled are added to a fresh count: a task both stored and not
/// yet settled is counted twice for a moment, which errs on the side of refusing.
/// </remarks>
public sealed class QueuedCount(TimeSpan recountInterval, TimeSpan settleTimeout)
{
    private long? _queued;
    private int _unsettled;
    private DateTimeOffset _countedAt;
    private DateTimeOffset _lastAdmitAt;

    /// <summary>True when the store must be counted before deciding on <paramref name="count"/> more under <paramref name="max"/>.</summary>
    public bool NeedsCount(int count, int max, DateTimeOffset now) =>
        max > 0 && (_queued is null || (_queued + count > max && now - _countedAt >= recountInterval));

    /// <summary>The store holds <paramref name="stored"/> queued tasks of the job now.</summary>
    public void Counted(long stored, DateTimeOffset now)
    {
        if (_unsettled > 0 && now - _lastAdmitAt > settleTimeout)
        {
            // Whoever was admitted that long ago and never settled died midway (its silo went down).
            _unsettled = 0;
        }

        _queued = stored + _unsettled;
        _countedAt = now;
    }

    /// <summary>Admits <paramref name="count"/> tasks, all or none. Call after <see cref="Counted"/> when <see cref="NeedsCount"/> asked for it.</summary>
    public AdmitResult Admit(int count, int max, DateTimeOffset now)
    {
        if (max <= 0)
        {
            // Unlimited: nothing is tracked, so a limit set later starts from a fresh count.
            _queued = null;
            return new AdmitResult(true, 0, 0);
        }

        var queued = _queued ?? throw new InvalidOperationException("Count the queued tasks before admitting under a limit.");
        if (queued + count > max)
        {
            return new AdmitResult(false, queued, max);
        }

        _queued = queued + count;
        _unsettled += count;
        _lastAdmitAt = now;
        return new AdmitResult(true, queued + count, max);
    }

    /// <summary>Tasks of an earlier admission are stored now (and counted by the store), or will never be.</summary>
    public void Settle(int count) => _unsettled = Math.Max(0, _unsettled - count);

    /// <summary>The job changed: count again at the next admission.</summary>
    public void Forget() => _queued = null;
}

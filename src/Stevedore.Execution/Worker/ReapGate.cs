namespace Stevedore.Execution.Worker;

/// <summary>
/// When a node may take other nodes' lapsed leases for dead workers. While the task store is away no node can
/// renew, so once it is back every lease looks lapsed; the live owners need a round of their own to renew. So after
/// a node has seen the store fail, it reaps nothing until a whole lease has passed since it first reached the store
/// again — counted from that first success, not from the last failure, because a round that did not reach the
/// store says nothing about whether it was back.
/// </summary>
/// <remarks>Pure: the caller reads the clock and reports each round's outcome.</remarks>
internal sealed class ReapGate(TimeSpan leaseDuration, DateTimeOffset start)
{
    private DateTimeOffset _reapFrom = start;
    private bool _storeWasAway;

    /// <summary>A round failed to reach the store.</summary>
    public void StoreFailed() => _storeWasAway = true;

    /// <summary>
    /// A round reached the store (renewed and read the lapsed leases) at <paramref name="now"/>: true when this node
    /// may reap what it read.
    /// </summary>
    public bool StoreReached(DateTimeOffset now)
    {
        if (_storeWasAway)
        {
            _storeWasAway = false;
            _reapFrom = now + leaseDuration;
        }

        return now >= _reapFrom;
    }
}

using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Stevedore.Execution.Worker;

/// <summary>
/// Leases tasks for this node's free slots. Partitions push "work available"; the dispatcher remembers which
/// partitions have work and leases from them while slots are free, so an idle node dispatches without polling.
/// </summary>
internal sealed partial class Dispatcher
{
    private static readonly TimeSpan s_retryAfterFailure = TimeSpan.FromSeconds(1);

    private readonly IGrainFactory _grains;
    private readonly string _node;
    private readonly Action<RunAssignment> _start;
    private readonly ILogger _logger;
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly int[] _pending;
    private int _free;
    private int _nextPartition;
    private volatile bool _paused;

    /// <param name="start">Runs a task started here; the dispatcher has taken a slot for it, given back by <see cref="SlotFreed"/>.</param>
    public Dispatcher(IGrainFactory grains, string node, int partitions, int slots, Action<RunAssignment> start, ILogger logger)
    {
        _grains = grains;
        _node = node;
        _start = start;
        _logger = logger;
        _pending = new int[partitions];
        _free = slots;
    }

    /// <summary>Slots not taken by a leased task now.</summary>
    public int FreeSlots => Volatile.Read(ref _free);

    /// <summary>A partition has ready tasks, the best at <paramref name="priority"/>.</summary>
    public void WorkAvailable(int partition, int priority)
    {
        if ((uint)partition < (uint)_pending.Length)
        {
            Raise(partition, DispatchOrder.Level(priority));
            Wake();
        }
    }

    /// <summary>After (re)subscribing: every partition may hold work this node was not told about.</summary>
    public void AllPending()
    {
        for (var p = 0; p < _pending.Length; p++)
        {
            Raise(p, DispatchOrder.Level(0));
        }

        Wake();
    }

    /// <summary>Marks a partition pending at <paramref name="level"/> at least (notifications may arrive out of order).</summary>
    private void Raise(int partition, int level)
    {
        var seen = Volatile.Read(ref _pending[partition]);
        while (seen < level)
        {
            var was = Interlocked.CompareExchange(ref _pending[partition], level, seen);
            if (was == seen)
            {
                return;
            }

            seen = was;
        }
    }

    public void SlotFreed()
    {
        Interlocked.Increment(ref _free);
        Wake();
    }

    /// <summary>Leases nothing until <see cref="Resume"/> (the node's container engine does not answer).</summary>
    public void Pause() => _paused = true;

    /// <summary>Leases again, from every partition: work may have arrived that this node was told about and left.</summary>
    public void Resume()
    {
        _paused = false;
        AllPending();
    }

    private void Wake() => _wake.Writer.TryWrite(true);

    /// <summary>Leases whenever woken and slots are free, until <paramref name="stoppingToken"/> is cancelled.</summary>
    public async Task RunAsync(CancellationToken stoppingToken)
    {
        var retryLater = false;
        try
        {
            while (true)
            {
                if (retryLater)
                {
                    // A lease failed: try again after a moment, or sooner when woken.
                    using var wait = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                    wait.CancelAfter(s_retryAfterFailure);
                    try
                    {
                        await _wake.Reader.WaitToReadAsync(wait.Token);
                    }
                    catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
                    {
                    }
                }
                else if (!await _wake.Reader.WaitToReadAsync(stoppingToken))
                {
                    return;
                }

                _wake.Reader.TryRead(out _);
                try
                {
                    retryLater = !await DispatchAsync(stoppingToken);
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    // This loop is the node's only way to work: a failure of one round never ends it.
                    LogDispatchFailed(_logger, ex);
                    retryLater = true;
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// Leases while slots are free, each time from the pending partition whose best ready task has the highest priority
    /// (<see cref="DispatchOrder"/>); false when a partition could not be reached (it stays pending).
    /// </summary>
    private async Task<bool> DispatchAsync(CancellationToken stoppingToken)
    {
        var allReached = true;
        // Partitions that failed, or gave nothing, in this round: not asked again until the next one.
        var skip = new bool[_pending.Length];
        while (!_paused && Volatile.Read(ref _free) > 0 && !stoppingToken.IsCancellationRequested)
        {
            var p = DispatchOrder.Pick(_pending, skip, _nextPartition);
            if (p < 0)
            {
                break;
            }

            var level = Interlocked.Exchange(ref _pending[p], 0);
            if (level == 0)
            {
                continue;
            }

            // Among partitions of equal priority, the next one after this goes first next time.
            _nextPartition = (p + 1) % _pending.Length;
            LeaseBatch batch;
            try
            {
                batch = await _grains.Partition(p).LeaseAsync(_node, Volatile.Read(ref _free), DispatchOrder.Priority(level));
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                LogLeaseFailed(_logger, ex, p);
                Raise(p, level);
                skip[p] = true;
                allReached = false;
                continue;
            }

            if (batch.MoreReady)
            {
                Raise(p, DispatchOrder.Level(batch.NextPriority));
            }

            // Empty with more ready at a lower priority than believed: the level is right now, pick again. Otherwise
            // empty means nothing startable there this round.
            if (batch.Tasks.Count == 0 && !(batch.MoreReady && batch.NextPriority < DispatchOrder.Priority(level)))
            {
                skip[p] = true;
            }

            foreach (var task in batch.Tasks)
            {
                Interlocked.Decrement(ref _free);
                _start(task);
            }
        }

        return allReached;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "A round of leasing failed; trying again shortly.")]
    private static partial void LogDispatchFailed(ILogger logger, Exception ex);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Leasing from queue partition {Partition} failed; trying again shortly.")]
    private static partial void LogLeaseFailed(ILogger logger, Exception ex, int partition);
}

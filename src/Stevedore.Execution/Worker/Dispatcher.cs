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
    private readonly Action<LeasedTask> _start;
    private readonly ILogger _logger;
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly int[] _pending;
    private int _free;
    private int _nextPartition;
    private volatile bool _paused;

    /// <param name="start">Runs a leased task; the dispatcher has taken a slot for it, given back by <see cref="SlotFreed"/>.</param>
    public Dispatcher(IGrainFactory grains, string node, int partitions, int slots, Action<LeasedTask> start, ILogger logger)
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

    public void WorkAvailable(int partition)
    {
        if ((uint)partition < (uint)_pending.Length)
        {
            Volatile.Write(ref _pending[partition], 1);
            Wake();
        }
    }

    /// <summary>After (re)subscribing: every partition may hold work this node was not told about.</summary>
    public void AllPending()
    {
        for (var p = 0; p < _pending.Length; p++)
        {
            Volatile.Write(ref _pending[p], 1);
        }

        Wake();
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
                retryLater = !await DispatchAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>One round of leases; false when a partition could not be reached (it stays pending).</summary>
    private async Task<bool> DispatchAsync(CancellationToken stoppingToken)
    {
        var allReached = true;
        var leasedAny = true;
        while (leasedAny && !_paused && Volatile.Read(ref _free) > 0 && !stoppingToken.IsCancellationRequested)
        {
            leasedAny = false;
            for (var i = 0; i < _pending.Length && !_paused && Volatile.Read(ref _free) > 0; i++)
            {
                var p = (_nextPartition + i) % _pending.Length;
                if (Interlocked.Exchange(ref _pending[p], 0) == 0)
                {
                    continue;
                }

                LeaseBatch batch;
                try
                {
                    batch = await _grains.Partition(p).LeaseAsync(_node, Volatile.Read(ref _free));
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogLeaseFailed(_logger, ex, p);
                    Volatile.Write(ref _pending[p], 1);
                    allReached = false;
                    continue;
                }

                if (batch.MoreReady)
                {
                    Volatile.Write(ref _pending[p], 1);
                }

                foreach (var task in batch.Tasks)
                {
                    Interlocked.Decrement(ref _free);
                    _start(task);
                    leasedAny = true;
                }
            }

            _nextPartition = (_nextPartition + 1) % _pending.Length;
        }

        return allReached;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Leasing from queue partition {Partition} failed; trying again shortly.")]
    private static partial void LogLeaseFailed(ILogger logger, Exception ex, int partition);
}

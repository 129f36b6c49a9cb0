using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Placement;
using Stevedore.Options;
using Stevedore.Storage;
using Stevedore.Telemetry;

namespace Stevedore.Grains;

/// <summary>
/// One partition of the task queue, and the lifecycle of its tasks. Keeps only ids and ordering keys of queued tasks
/// in memory, and the records of the tasks it started — the task store is the truth, and the partition rebuilds
/// itself from it on activation. Tells subscribed worker nodes when work is ready and starts tasks for them when they
/// lease, asking each task's job grain for a run slot first. The calls about one task are in
/// QueuePartitionGrain.Tasks.cs.
/// </summary>
[HashBasedPlacement] // spread partitions over the silos by key, not wherever the first caller happens to be
public sealed partial class QueuePartitionGrain(
    ITaskStore tasks, ITaskEvents events, IOptions<QueueOptions> options, IOptions<MetricsOptions> metrics, TimeProvider time,
    ILogger<QueuePartitionGrain> logger)
    : Grain, IQueuePartitionGrain
{
    private static readonly TimeSpan s_subscriptionLifetime = TimeSpan.FromMinutes(2);

    private readonly ReadyQueue _queue = new();
    private readonly Dictionary<string, JobInfo> _passes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (IWorkerObserver Observer, DateTimeOffset Seen)> _workers = new(StringComparer.Ordinal);
    private IGrainTimer? _dueTimer;
    private DateTimeOffset? _dueTimerAt;
    // Jobs this activation has held tasks of: shown with depth 0 once their tasks are gone.
    private readonly HashSet<string> _jobsSeen = new(StringComparer.Ordinal);
    // The task store has been compared with this partition up to here (the store's clock).
    private DateTimeOffset _reconciledUntil;

    private int Partition => (int)this.GetPrimaryKeyLong();

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var loaded = await tasks.LoadQueuedSinceAsync(Partition, DateTimeOffset.MinValue, TimeSpan.Zero, cancellationToken);
        foreach (var entry in loaded.Entries)
        {
            _queue.Add(entry, now);
        }

        // Inserts still open as the partition read are found by the first reconciliation.
        var reconcile = options.Value.ReconcileInterval;
        _reconciledUntil = loaded.Until - reconcile;
        this.RegisterGrainTimer(ReconcileAsync, reconcile, reconcile);
        ArmDueTimer();
        var sample = metrics.Value.QueueSampleInterval;
        PublishDepths();
        this.RegisterGrainTimer(_ => { PublishDepths(); return Task.CompletedTask; }, sample, sample);
    }

    /// <summary>
    /// Adds the queued tasks that never reached this partition: stored, but the call that should have brought them
    /// here failed (a failover, a timeout) or its caller died in between. Each task is looked at once, a little
    /// after it became queued, so the cost follows the rate of tasks, not the length of the queue.
    /// </summary>
    private async Task ReconcileAsync(CancellationToken cancellationToken)
    {
        var window = await tasks.LoadQueuedSinceAsync(Partition, _reconciledUntil, options.Value.ReconcileInterval, cancellationToken);
        var now = time.GetUtcNow();
        var ready = false;
        foreach (var entry in window.Entries)
        {
            if (!_queue.Contains(entry.TaskId) && !_locks.IsHeld(entry.TaskId) && !_running.ContainsKey(entry.TaskId))
            {
                LogReconciled(logger, entry.TaskId);
                ready |= _queue.Add(entry, now);
            }
        }

        _reconciledUntil = window.Until;
        if (ready)
        {
            NotifyWorkers();
        }

        ReportHeadChanges();
        ArmDueTimer();
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        StevedoreMetrics.PublishQueue(this, null);
        return Task.CompletedTask;
    }

    /// <summary>Hands this partition's per-job depth and oldest wait to the gauges (read when /metrics is scraped).</summary>
    private void PublishDepths()
    {
        var depths = _queue.Depths(time.GetUtcNow());
        _jobsSeen.UnionWith(depths.Keys);
        StevedoreMetrics.PublishQueue(this, _jobsSeen
            .Select(job => depths.TryGetValue(job, out var d) ? new StevedoreMetrics.QueueDepth(job, d.Count, d.OldestReadySince) : new StevedoreMetrics.QueueDepth(job, 0, null))
            .ToList());
    }

    public Task EnqueueAsync(IReadOnlyList<TaskRecord> tasks)
    {
        Queue(tasks);
        return Task.CompletedTask;
    }

    /// <summary>Queues tasks stored as queued (new, or back after an attempt), keeping their records while there is room.</summary>
    private void Queue(IReadOnlyList<TaskRecord> tasks)
    {
        var now = time.GetUtcNow();
        var ready = false;
        foreach (var task in tasks)
        {
            ready |= _queue.Add(QueueEntry.For(task), now);
            _jobsSeen.Add(task.Job);
            KeepQueued(task);
        }

        if (ready)
        {
            NotifyWorkers();
        }

        ReportHeadChanges();
        ArmDueTimer();
    }

    public async Task<LeaseBatch> LeaseAsync(string node, int max, int minPriority)
    {
        _queue.PromoteDue(time.GetUtcNow());
        if (_queue.ReadyCount > 0 && _queue.BestReadyPriority < minPriority)
        {
            // The node leases from the partition it believes holds the best task; this one no longer does.
            ReportHeadChanges();
            return new LeaseBatch([], MoreReady: true) { NextPriority = _queue.BestReadyPriority };
        }

        var taken = new List<Taken>(Math.Min(max, _queue.ReadyCount));
        List<QueueEntry>? abandoned = null;
        while (taken.Count < max && _queue.TryTake(out var entry))
        {
            if (_passes.TryGetValue(entry.Job, out var passed))
            {
                taken.Add(new Taken(entry, passed, Slot: false));
                continue;
            }

            var answer = await GrainFactory.Job(entry.Job).TryAcquireAsync(entry.TaskId, entry.Priority, Partition);
            if (answer.Pass)
            {
                _passes[entry.Job] = answer.Job!;
            }

            switch (answer.Outcome)
            {
                case AcquireOutcome.Acquired:
                    taken.Add(new Taken(entry, answer.Job!, Slot: !answer.Pass));
                    break;
                case AcquireOutcome.Paused or AcquireOutcome.AtLimit:
                    _queue.Block(entry);
                    break;
                default:
                    LogAbandoned(logger, entry.TaskId, entry.Job);
                    (abandoned ??= []).Add(entry);
                    break;
            }
        }

        ReportHeadChanges();
        var leaseUntil = time.GetUtcNow() + options.Value.LeaseDuration;
        var started = await Task.WhenAll(taken.Select(t => StartAsync(node, t, leaseUntil)));
        foreach (var entry in abandoned ?? [])
        {
            await AbandonAsync(entry, $"job '{entry.Job}' was deleted before the task started");
        }

        ArmDueTimer();
        return new LeaseBatch([.. started.OfType<RunAssignment>()], _queue.ReadyCount > 0) { NextPriority = _queue.BestReadyPriority };
    }

    public Task FenceAsync(string jobName, JobInfo? job)
    {
        // Leases do not interleave with this call: every start leased with the old state is recorded already.
        _passes.Remove(jobName);
        if (Partition == 0)
        {
            // Once per change (every partition is fenced): workers retire the job's hot containers of other versions.
            var version = job is { Paused: false } ? job.Version : (long?)null;
            foreach (var (observer, _) in _workers.Values)
            {
                _ = observer.JobChanged(jobName, version);
            }
        }

        return Task.CompletedTask;
    }

    public Task UnblockAsync(string job)
    {
        _passes.Remove(job);
        if (_queue.Unblock(job) > 0)
        {
            NotifyWorkers();
        }

        return Task.CompletedTask;
    }

    public Task SubscribeAsync(string node, IWorkerObserver observer)
    {
        _workers[node] = (observer, time.GetUtcNow());
        if (_queue.ReadyCount > 0)
        {
            _ = observer.WorkAvailable(Partition, _queue.BestReadyPriority);
        }

        return Task.CompletedTask;
    }

    private void NotifyWorkers()
    {
        var now = time.GetUtcNow();
        List<string>? expired = null;
        foreach (var (node, (observer, seen)) in _workers)
        {
            if (now - seen > s_subscriptionLifetime)
            {
                (expired ??= []).Add(node);
                continue;
            }

            _ = observer.WorkAvailable(Partition, _queue.BestReadyPriority);
        }

        foreach (var node in expired ?? [])
        {
            _workers.Remove(node);
        }
    }

    /// <summary>
    /// Tells job grains of changed heads here: a better task joined the waiting ones, or the head left and another
    /// follows it, or none does (one-way: a job grain may be calling us).
    /// </summary>
    private void ReportHeadChanges()
    {
        foreach (var change in _queue.TakeHeadChanges())
        {
            var job = GrainFactory.Job(change.Job);
            _ = change.Withdrawn ? job.WithdrawHeadAsync(change.TaskId, Partition) : job.ReportHeadAsync(change.TaskId, change.Priority, Partition);
        }
    }

    private void ArmDueTimer()
    {
        var due = _queue.NextDueAt;
        if (due is null || due == _dueTimerAt)
        {
            return;
        }

        _dueTimer?.Dispose();
        _dueTimerAt = due;
        var delay = due.Value - time.GetUtcNow();
        _dueTimer = this.RegisterGrainTimer(OnDueAsync, delay < TimeSpan.Zero ? TimeSpan.Zero : delay, Timeout.InfiniteTimeSpan);
    }

    private Task OnDueAsync(CancellationToken cancellationToken)
    {
        _dueTimerAt = null;
        if (_queue.PromoteDue(time.GetUtcNow()) > 0)
        {
            NotifyWorkers();
        }

        ReportHeadChanges();
        ArmDueTimer();
        return Task.CompletedTask;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Task {TaskId} was queued but had not reached its partition: it is queued there now.")]
    private static partial void LogReconciled(ILogger logger, string taskId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Task {TaskId} cannot start: its job {Job} no longer exists.")]
    private static partial void LogAbandoned(ILogger logger, string taskId, string job);
}

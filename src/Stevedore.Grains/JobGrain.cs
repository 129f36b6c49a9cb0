using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Stevedore.Options;
using Stevedore.Storage;

namespace Stevedore.Grains;

/// <summary>
/// A job definition. Its definition lives in the job store; the run slots it hands out (for
/// <c>maxConcurrency</c>, held cluster-wide because there is one activation per job) are rebuilt from the running
/// tasks in the task store when it activates.
/// </summary>
public sealed partial class JobGrain(IJobStore jobs, ITaskStore tasks, IOptions<QueueOptions> options, TimeProvider time, ILogger<JobGrain> logger)
    : Grain, IJobGrain
{
    // Run slots taken, by task, with when each was taken.
    private readonly Dictionary<string, DateTimeOffset> _running = new(StringComparer.Ordinal);
    private IGrainTimer? _slotCheck;
    private readonly HashSet<int> _waitingPartitions = [];
    // Partitions holding a pass (see AcquireResult.Pass); told to drop it on any change.
    private readonly HashSet<int> _passHolders = [];
    // The best waiting task per partition, so a free slot goes to the best of them (priority across partitions).
    private readonly WaitingHeads _heads = new(claimWindow: options.Value.LeaseConfirmTimeout / 5);
    private IGrainTimer? _claimTimer;
    // Queued tasks under maxQueued: counted from the store when needed, raised by each admission.
    private readonly QueuedCount _queued = new(recountInterval: TimeSpan.FromSeconds(1), settleTimeout: TimeSpan.FromMinutes(1));
    private JobInfo? _job;

    private string Name => this.GetPrimaryKeyString();

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _job = await jobs.GetAsync(Name, cancellationToken);
        if (_job is { Spec.MaxConcurrency: > 0 })
        {
            Hold(await tasks.LoadRunningAsync(Name, cancellationToken));
            // A previous activation (on a silo that died) may have left partitions waiting for a wake-up.
            for (var p = 0; p < options.Value.Partitions; p++)
            {
                _waitingPartitions.Add(p);
            }

            WakeWaitingPartitions();
        }
    }

    public Task<JobInfo?> GetAsync() => Task.FromResult(_job);

    public async Task<PutJobResult> PutAsync(JobSpec spec)
    {
        var now = time.GetUtcNow();
        if (_job is not null && _job.Spec.SameAs(spec))
        {
            return new PutJobResult(_job, Created: false);
        }

        var created = _job is null;
        var job = created
            ? new JobInfo { Name = Name, Spec = spec, Version = 1, CreatedAt = now, UpdatedAt = now }
            : _job! with { Spec = spec, Version = _job.Version + 1, UpdatedAt = now };
        await jobs.UpsertAsync(job);
        if (job.Spec.MaxConcurrency > 0 && (_job?.Spec.MaxConcurrency ?? 0) == 0)
        {
            // Runs started on a pass were not counted: count what runs now before enforcing a limit.
            Hold(await tasks.LoadRunningAsync(Name));
        }

        _job = job;
        if (job.Spec.MaxConcurrency == 0)
        {
            _heads.Clear(); // no limit: no slot is kept for anyone (should one come back, partitions report anew)
        }

        _queued.Forget();
        WakeWaitingPartitions();
        return new PutJobResult(job, created);
    }

    public async Task<bool> DeleteAsync()
    {
        if (_job is null)
        {
            return false;
        }

        await jobs.DeleteAsync(Name);
        _job = null;
        _heads.Clear();
        // Partitions holding its tasks aside learn on their next try that the job is gone.
        WakeWaitingPartitions();
        return true;
    }

    public async Task<JobInfo?> SetPausedAsync(bool paused)
    {
        if (_job is null || _job.Paused == paused)
        {
            return _job;
        }

        var job = _job with { Paused = paused, UpdatedAt = time.GetUtcNow() };
        await jobs.UpsertAsync(job);
        _job = job;
        WakeWaitingPartitions();
        return job;
    }

    public Task<AcquireResult> TryAcquireAsync(string taskId, int priority, int partition) => Task.FromResult(TryAcquire(taskId, priority, partition));

    public Task ReportHeadAsync(string taskId, int priority, int partition)
    {
        if (_job is { Spec.MaxConcurrency: > 0 } && _heads.Report(partition, taskId, priority))
        {
            WakeWaitingPartitions(); // the slot kept for its previous head is open again
        }

        return Task.CompletedTask;
    }

    public Task WithdrawHeadAsync(string taskId, int partition)
    {
        if (_heads.Withdraw(partition, taskId))
        {
            WakeWaitingPartitions();
        }

        return Task.CompletedTask;
    }

    private AcquireResult TryAcquire(string taskId, int priority, int partition)
    {
        if (_job is null)
        {
            return new AcquireResult(AcquireOutcome.Missing, null);
        }

        if (_job.Spec.MaxConcurrency == 0)
        {
            _running.Remove(taskId); // the limit was lifted (if it held a slot): it runs on the pass, holding none
        }

        if (_running.ContainsKey(taskId))
        {
            _running[taskId] = time.GetUtcNow(); // offered again: its start is still to come
            if (_heads.Withdraw(partition, taskId))
            {
                WakeWaitingPartitions(); // it holds a slot already: the one kept for it is open
            }

            return new AcquireResult(AcquireOutcome.Acquired, _job);
        }

        var limit = _job.Spec.MaxConcurrency;
        if (_job.Paused)
        {
            _waitingPartitions.Add(partition);
            if (limit > 0)
            {
                _heads.Report(partition, taskId, priority);
            }

            return new AcquireResult(AcquireOutcome.Paused, null);
        }

        if (limit > 0 && _running.Count >= limit)
        {
            _waitingPartitions.Add(partition);
            _heads.Report(partition, taskId, priority);
            _slotCheck ??= this.RegisterGrainTimer(CheckSlotsAsync, SlotCheckPeriod, SlotCheckPeriod);
            return new AcquireResult(AcquireOutcome.AtLimit, null);
        }

        if (limit == 0)
        {
            _passHolders.Add(partition);
            return new AcquireResult(AcquireOutcome.Acquired, _job) { Pass = true };
        }

        if (_heads.Decide(partition, taskId, priority, limit - _running.Count, time.GetUtcNow()) is { } outranking)
        {
            // Another partition holds a better task: the slot is kept for it, and it is woken to claim it.
            _waitingPartitions.Add(partition);
            foreach (var p in outranking)
            {
                _waitingPartitions.Remove(p);
                _ = GrainFactory.Partition(p).UnblockAsync(Name);
            }

            ArmClaimTimer();
            return new AcquireResult(AcquireOutcome.AtLimit, null);
        }

        _running[taskId] = time.GetUtcNow();
        return new AcquireResult(AcquireOutcome.Acquired, _job);
    }

    /// <summary>Once an offer to a better partition lapses unclaimed, the partitions that waited for it ask again.</summary>
    private void ArmClaimTimer()
    {
        if (_claimTimer is not null || _heads.NextLapse is not { } at)
        {
            return;
        }

        var delay = at - time.GetUtcNow();
        _claimTimer = this.RegisterGrainTimer(OnClaimLapsedAsync, delay < TimeSpan.Zero ? TimeSpan.Zero : delay, Timeout.InfiniteTimeSpan);
    }

    private Task OnClaimLapsedAsync(CancellationToken cancellationToken)
    {
        _claimTimer?.Dispose();
        _claimTimer = null;
        if (_heads.DropLapsed(time.GetUtcNow()))
        {
            WakeWaitingPartitions();
        }

        ArmClaimTimer();
        return Task.CompletedTask;
    }

    private TimeSpan SlotCheckPeriod => options.Value.LeaseConfirmTimeout * 3;

    /// <summary>
    /// While partitions wait for a slot: gives back slots whose task is not running and has not been offered for a
    /// while — their release never came (the report was lost with a silo) — so no job stays at its limit forever.
    /// </summary>
    private async Task CheckSlotsAsync(CancellationToken cancellationToken)
    {
        if (_waitingPartitions.Count == 0 || _job is null)
        {
            _slotCheck?.Dispose();
            _slotCheck = null;
            return;
        }

        var running = (await tasks.LoadRunningAsync(Name, cancellationToken)).ToHashSet(StringComparer.Ordinal);
        var cutoff = time.GetUtcNow() - (options.Value.LeaseConfirmTimeout * 2);
        var lost = _running.Where(kv => kv.Value < cutoff && !running.Contains(kv.Key)).Select(kv => kv.Key).ToList();
        foreach (var taskId in lost)
        {
            LogSlotDropped(logger, Name, taskId);
            _running.Remove(taskId);
        }

        if (lost.Count > 0)
        {
            WakeWaitingPartitions();
        }
    }

    /// <summary>
    /// Counts what runs now against the limit. A run started on the job's pass (no limit then) holds no slot its task
    /// would give back, so each is told it holds one now (one-way; a task that ended meanwhile gives it back at once,
    /// and one whose message is lost is found by the slot check).
    /// </summary>
    private void Hold(IEnumerable<string> running)
    {
        var now = time.GetUtcNow();
        foreach (var taskId in running)
        {
            _running.TryAdd(taskId, now);
            _ = GrainFactory.Partition(TaskIds.PartitionOf(taskId, options.Value.Partitions)).HoldsSlotAsync(taskId);
        }
    }

    public Task ReleaseAsync(string taskId)
    {
        if (_running.Remove(taskId))
        {
            WakeWaitingPartitions();
        }

        return Task.CompletedTask;
    }

    public async Task<AdmitResult> AdmitAsync(int count)
    {
        var max = _job?.Spec.MaxQueued ?? 0;
        var now = time.GetUtcNow();
        if (_queued.NeedsCount(count, max, now))
        {
            _queued.Counted(await tasks.CountQueuedAsync(Name), now);
        }

        return _queued.Admit(count, max, now);
    }

    public Task SettleAsync(int count)
    {
        _queued.Settle(count);
        return Task.CompletedTask;
    }

    /// <summary>Tells partitions that waited, or hold a pass, to ask again (one-way: a partition may be calling us).</summary>
    private void WakeWaitingPartitions()
    {
        _waitingPartitions.UnionWith(_passHolders);
        foreach (var partition in _waitingPartitions)
        {
            _ = GrainFactory.Partition(partition).UnblockAsync(Name);
        }

        _waitingPartitions.Clear();
        _passHolders.Clear();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {Job}: the run slot of task {TaskId} was never given back; it is free again.")]
    private static partial void LogSlotDropped(ILogger logger, string job, string taskId);
}

using Microsoft.Extensions.Logging;
using Stevedore.Telemetry;

namespace Stevedore.Grains;

/// <summary>
/// The lifecycle of the partition's tasks: starts (in a lease), outcomes, cancels, lapsed leases. The partition is the
/// one writer of its tasks' records; calls about different tasks interleave, and <see cref="TaskLocks"/> keeps those
/// about one task one at a time. The records of the tasks it started stay in memory until their attempt ends; any
/// other is read from the store (after a failover, every one is).
/// </summary>
public sealed partial class QueuePartitionGrain
{
    /// <summary>Queued tasks whose records this partition keeps, at most (the rest are read when they start).</summary>
    internal const int KeptQueuedRecords = 2048;

    // Tasks this activation started (or found running) and whose attempt has not ended.
    private readonly Dictionary<string, RunningTask> _running = new(StringComparer.Ordinal);
    // Records of queued tasks as they were stored (enqueued, or queued again here), so that their start reads nothing.
    private readonly Dictionary<string, TaskRecord> _queued = new(StringComparer.Ordinal);
    private readonly TaskLocks _locks = new();
    private static readonly TimeSpan s_startRetryDelay = TimeSpan.FromSeconds(1);

    /// <summary>A task taken from the queue in a lease, with the job state it starts with and whether it took a slot.</summary>
    private readonly record struct Taken(QueueEntry Entry, JobInfo Job, bool Slot);

    /// <summary>
    /// A task's record while its attempt runs, the definition the attempt started with (its retry settings decide what
    /// a failure leads to; null when this activation did not start it) and whether the run holds a slot of its job.
    /// </summary>
    private sealed class RunningTask(TaskRecord record, JobInfo? job, bool holdsSlot)
    {
        public TaskRecord Record { get; set; } = record;
        public JobInfo? Job { get; } = job;
        public bool HoldsSlot { get; set; } = holdsSlot;

        /// <summary>
        /// Whether the job grain must be told the attempt ended. A run started on the job's pass holds no slot (one call
        /// less per task of an unlimited job) unless a limit added while it ran counted it; when this activation did
        /// not start the run it does not know, and tells the job grain, which is harmless.
        /// </summary>
        public bool MustRelease => HoldsSlot || Job is null || Job.Version != Record.JobVersion;
    }

    /// <summary>
    /// Records the start of a task taken in a lease, with a lease that lasts until <paramref name="leaseUntil"/>; null
    /// when it cannot start (cancelled, gone, already running) or its record could not be read or written — then it
    /// is queued again a little later, and its slot is given back.
    /// </summary>
    private async Task<RunAssignment?> StartAsync(string node, Taken taken, DateTimeOffset leaseUntil)
    {
        var id = taken.Entry.TaskId;
        using var held = await _locks.AcquireAsync(id);
        TaskRecord? task;
        TaskRecord? started;
        var now = time.GetUtcNow();
        try
        {
            task = await TakeRecordAsync(id);
            started = task is null ? null : TaskTransitions.Start(task, node, taken.Job, now);
            if (started is not null)
            {
                await tasks.UpdateAsync(started, leaseUntil);
            }
        }
        catch (Exception ex)
        {
            // The store is away: the task stays queued (had the write gone through after all, its lease lapses).
            RetryLater(taken.Entry, ex, now);
            await GiveSlotBackAsync(taken, id);
            return null;
        }

        if (started is null)
        {
            // Cancelled while queued, or gone: give the slot back. A duplicate entry of a task that runs already
            // shares that run's slot, which must stay taken.
            if (task?.Status != TaskRunStatus.Running)
            {
                await GiveSlotBackAsync(taken, id);
            }

            return null;
        }

        _running[id] = new RunningTask(started, taken.Job, taken.Slot);
        events.Publish(id);
        var readySince = TaskTimes.ReadySince(task!);
        StevedoreMetrics.Started(taken.Job.Name, now - readySince);
        StevedoreTracing.RecordQueued(started, readySince, now, node);
        return new RunAssignment
        {
            TaskId = id,
            Job = taken.Job,
            Attempt = started.Attempt,
            TimeoutSeconds = started.TimeoutSeconds ?? taken.Job.Spec.TimeoutSeconds,
            TraceParent = started.TraceParent,
            Environment = started.Environment,
            Partition = Partition,
            PayloadBytes = started.PayloadBytes,
        };
    }

    private async Task GiveSlotBackAsync(Taken taken, string id)
    {
        if (taken.Slot)
        {
            try
            {
                await GrainFactory.Job(taken.Job.Name).ReleaseAsync(id);
            }
            catch (Exception ex)
            {
                // The job grain's slot check frees it: the task is not running.
                LogReleaseFailed(logger, ex, id, taken.Job.Name);
            }
        }
    }

    /// <summary>A taken task whose job is gone fails; when its record cannot be written it is queued again a little later.</summary>
    private async Task AbandonAsync(QueueEntry entry, string reason)
    {
        using var held = await _locks.AcquireAsync(entry.TaskId);
        var now = time.GetUtcNow();
        try
        {
            if (await TakeRecordAsync(entry.TaskId) is { } task && TaskTransitions.Abandon(task, reason, now) is { } abandoned)
            {
                await SaveAsync(abandoned);
            }
        }
        catch (Exception ex)
        {
            RetryLater(entry, ex, now);
        }
    }

    /// <summary>
    /// The record of a task taken from the queue: the one this activation knows (dropped from the kept ones, as the
    /// task is about to change), else the store's.
    /// </summary>
    private async Task<TaskRecord?> TakeRecordAsync(string taskId) =>
        _running.TryGetValue(taskId, out var known) ? known.Record
        : _queued.Remove(taskId, out var kept) ? kept
        : await tasks.GetAsync(taskId);

    /// <summary>A taken task whose record could not be read or written is queued again a second later.</summary>
    private void RetryLater(QueueEntry entry, Exception ex, DateTimeOffset now)
    {
        LogStartFailed(logger, ex, entry.TaskId);
        _queue.Add(entry with { RunAfter = now + s_startRetryDelay }, now);
    }

    public async Task<TaskRecord?> CompleteAsync(string taskId, int attempt, RunOutcome outcome)
    {
        using var held = await _locks.AcquireAsync(taskId);
        return await CompleteHeldAsync(taskId, attempt, outcome);
    }

    private async Task<TaskRecord?> CompleteHeldAsync(string taskId, int attempt, RunOutcome outcome)
    {
        if (await LoadAsync(taskId) is not { } run)
        {
            return null;
        }

        var task = run.Record;
        using var span = StevedoreTracing.StartStep("complete", task);
        var job = run.Job?.Version == task.JobVersion ? run.Job : await GrainFactory.Job(task.Job).GetAsync();
        var finished = TaskTransitions.Finish(task, attempt, outcome, job?.Spec ?? new JobSpec { Image = "", Retries = 0 }, time.GetUtcNow());
        if (finished is null)
        {
            if (task.Attempt == attempt && task.Status != TaskRunStatus.Running)
            {
                // The report is tried again after its first try was saved: what follows the save may not have happened.
                await AfterAttemptAsync(run);
            }
            else
            {
                LogStaleOutcome(logger, taskId, attempt, task.Attempt, task.Status);
            }

            return task;
        }

        await SaveAsync(finished, run);
        if (TaskTimes.EndedAttempt(finished, attempt) is { } ended)
        {
            StevedoreMetrics.AttemptEnded(finished.Job, ended.Status, ended.FinishedAt!.Value - ended.StartedAt);
        }

        if (outcome.WorkerLost)
        {
            StevedoreMetrics.WorkerLost(finished.Job);
        }

        StevedoreTracing.Outcome(span, finished.Status, finished.Error);
        await AfterAttemptAsync(run);
        return finished;
    }

    /// <summary>
    /// Gives the job's run slot back and, when the task runs again, queues it here. Both are harmless to repeat; when
    /// the release fails the caller reports again.
    /// </summary>
    private async Task AfterAttemptAsync(RunningTask run)
    {
        var task = run.Record;
        if (run.MustRelease)
        {
            await GrainFactory.Job(task.Job).ReleaseAsync(task.Id);
        }

        if (task.Status == TaskRunStatus.Queued)
        {
            Queue([task]);
        }
    }

    public async Task<CancelResult> CancelAsync(string taskId)
    {
        using var held = await _locks.AcquireAsync(taskId);
        if (await LoadAsync(taskId) is not { } run)
        {
            return new CancelResult(CancelOutcome.NotFound, null);
        }

        var task = run.Record;
        if (task.Status.IsTerminal())
        {
            return new CancelResult(CancelOutcome.AlreadyFinished, task);
        }

        if (TaskTransitions.Cancel(task, time.GetUtcNow()) is { } cancelled)
        {
            await SaveAsync(cancelled, run);
        }

        if (task.Status == TaskRunStatus.Queued)
        {
            if (_queue.Remove(taskId))
            {
                ReportHeadChanges();
            }

            return new CancelResult(CancelOutcome.Cancelled, run.Record);
        }

        if (task.Node is { } node)
        {
            await GrainFactory.GetGrain<IWorkerNodeGrain>(node).CancelTaskAsync(taskId);
        }

        return new CancelResult(CancelOutcome.CancelRequested, run.Record);
    }

    public async Task ExpireLeaseAsync(string taskId, int attempt)
    {
        using var held = await _locks.AcquireAsync(taskId);
        if (await LoadAsync(taskId) is not { Record: { Status: TaskRunStatus.Running } task } || task.Attempt != attempt)
        {
            return;
        }

        LogLeaseLapsed(logger, taskId, attempt, task.Node);
        StevedoreMetrics.LeaseExpired(task.Job);
        await CompleteHeldAsync(taskId, attempt, new RunOutcome
        {
            Status = TaskRunStatus.Failed,
            Error = $"worker lost: node {task.Node} stopped renewing the lease of attempt {attempt}",
            WorkerLost = true,
            LeaseLapsed = true,
        });
    }

    public async Task HoldsSlotAsync(string taskId)
    {
        using var held = await _locks.AcquireAsync(taskId);
        if (await LoadAsync(taskId) is not { } run)
        {
            return; // gone: the job grain's slot check drops its slot
        }

        if (run.Record.Status == TaskRunStatus.Running)
        {
            run.HoldsSlot = true; // given back when the attempt ends
            return;
        }

        // It ended before the job grain counted it, and its end skipped the release: give the slot back now.
        await GrainFactory.Job(run.Record.Job).ReleaseAsync(taskId);
    }

    /// <summary>Keeps a queued task's record, while fewer than <see cref="KeptQueuedRecords"/> are kept.</summary>
    private void KeepQueued(TaskRecord task)
    {
        if (task.Status == TaskRunStatus.Queued && (_queued.Count < KeptQueuedRecords || _queued.ContainsKey(task.Id)))
        {
            _queued[task.Id] = task;
        }
    }

    /// <summary>The task as this activation knows it: its running or queued record, or else the store's (kept while it runs).</summary>
    private async Task<RunningTask?> LoadAsync(string taskId)
    {
        if (_running.TryGetValue(taskId, out var run))
        {
            return run;
        }

        if ((_queued.TryGetValue(taskId, out var kept) ? kept : await tasks.GetAsync(taskId)) is not { } task)
        {
            return null;
        }

        run = new RunningTask(task, job: null, holdsSlot: false);
        if (task.Status == TaskRunStatus.Running)
        {
            _running[taskId] = run;
        }

        return run;
    }

    /// <summary>Writes a transition; <paramref name="run"/>, when given, follows it (and is forgotten once the attempt ended).</summary>
    private async Task SaveAsync(TaskRecord task, RunningTask? run = null)
    {
        await tasks.UpdateAsync(task);
        _queued.Remove(task.Id); // a queued task's record changed: AfterAttempt keeps the new one
        var before = run?.Record;
        if (task.Status.IsTerminal() && before?.Status.IsTerminal() != true)
        {
            StevedoreMetrics.Finished(task.Job, task.Status);
        }

        if (run is not null)
        {
            run.Record = task;
        }

        if (task.Status != TaskRunStatus.Running)
        {
            _running.Remove(task.Id);
        }

        events.Publish(task.Id);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The lease of task {TaskId} attempt {Attempt} on node {Node} lapsed: it runs again.")]
    private static partial void LogLeaseLapsed(ILogger logger, string taskId, int attempt, string? node);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Ignored outcome of attempt {Attempt} of task {TaskId}: it is at attempt {Current}, {Status}.")]
    private static partial void LogStaleOutcome(ILogger logger, string taskId, int attempt, int current, TaskRunStatus status);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Task {TaskId} could not be started (its record could not be read or written): it is offered again shortly.")]
    private static partial void LogStartFailed(ILogger logger, Exception ex, string taskId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Giving back the run slot of task {TaskId} to job {Job} failed; the job's slot check frees it.")]
    private static partial void LogReleaseFailed(ILogger logger, Exception ex, string taskId, string job);
}

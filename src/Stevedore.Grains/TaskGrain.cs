using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Placement;
using Stevedore.Options;
using Stevedore.Storage;
using Stevedore.Telemetry;

namespace Stevedore.Grains;

/// <summary>
/// One task's lifecycle. Its state is its <see cref="TaskRecord"/> in the task store (also the index behind
/// listings), loaded on activation and written on each transition. It never runs anything: worker nodes do.
/// </summary>
[CollectionAgeLimit(Minutes = 2)]
[PreferLocalPlacement] // first called by the worker that starts it, or the API silo that reads it
public sealed partial class TaskGrain(
    ITaskStore tasks, ITaskEvents events, IOptions<QueueOptions> options, TimeProvider time, ILogger<TaskGrain> logger) : Grain, ITaskGrain
{
    private TaskRecord? _task;
    // The definition the running attempt started with: its retry settings decide what a failure leads to.
    private JobInfo? _runningJob;
    // Set when a limit added while this run went on counted it (HoldsSlot): the run must give its slot back.
    private bool _holdsSlot;

    public override async Task OnActivateAsync(CancellationToken cancellationToken) =>
        _task = await tasks.GetAsync(this.GetPrimaryKeyString(), cancellationToken);

    public Task<TaskRecord?> GetAsync() => Task.FromResult(_task);

    public async Task<RunAssignment?> StartAsync(string node, JobInfo job)
    {
        if (_task is null || TaskTransitions.Start(_task, node, job, time.GetUtcNow()) is null)
        {
            if (_task is not null)
            {
                _ = GrainFactory.Partition(_task.Partition).ConfirmAsync(_task.Id);
            }

            // Cancelled while leased, or gone: give the run slot back. A duplicate lease of a task that runs
            // already shares that run's slot, which must stay taken.
            if (_task?.Status != TaskRunStatus.Running)
            {
                await GrainFactory.Job(job.Name).ReleaseAsync(this.GetPrimaryKeyString());
            }

            return null;
        }

        var partition = GrainFactory.Partition(_task.Partition);
        if (!await partition.AdmitStartAsync(_task.Id, job))
        {
            // Leased with a definition that was changed, paused or deleted since: give the slot back first, then the
            // lease, so the next lease asks for a slot with the current definition.
            await GrainFactory.Job(job.Name).ReleaseAsync(_task.Id);
            _ = partition.ReturnAsync(_task.Id);
            return null;
        }

        var now = time.GetUtcNow();
        var readySince = TaskTimes.ReadySince(_task);
        var started = TaskTransitions.Start(_task, node, job, now)!;
        await SaveAsync(started, now + options.Value.LeaseDuration);
        // Only now may the partition forget the lease: had the save failed, it offers the task again.
        _ = partition.ConfirmAsync(started.Id);
        _runningJob = job;
        _holdsSlot = false;
        StevedoreMetrics.Started(job.Name, now - readySince);
        StevedoreTracing.RecordQueued(started, readySince, now, node);
        return new RunAssignment
        {
            TaskId = started.Id,
            Job = job,
            Attempt = started.Attempt,
            TimeoutSeconds = started.TimeoutSeconds ?? job.Spec.TimeoutSeconds,
            TraceParent = started.TraceParent,
            Environment = started.Environment,
        };
    }

    public async Task<TaskRecord?> CompleteAsync(int attempt, RunOutcome outcome)
    {
        if (_task is null)
        {
            return null;
        }

        using var span = StevedoreTracing.StartStep("complete", _task);
        var job = _runningJob?.Version == _task.JobVersion ? _runningJob : await GrainFactory.Job(_task.Job).GetAsync();
        var finished = TaskTransitions.Finish(_task, attempt, outcome, job?.Spec ?? new JobSpec { Image = "", Retries = 0 }, time.GetUtcNow());
        if (finished is null)
        {
            if (_task.Attempt == attempt && _task.Status != TaskRunStatus.Running)
            {
                // The report is tried again after its first try was saved: what follows the save may not have happened.
                await AfterAttemptAsync(_task);
            }
            else
            {
                LogStaleOutcome(logger, _task.Id, attempt, _task.Attempt, _task.Status);
            }

            return _task;
        }

        await SaveAsync(finished);
        if (TaskTimes.EndedAttempt(finished, attempt) is { } ended)
        {
            StevedoreMetrics.AttemptEnded(finished.Job, ended.Status, ended.FinishedAt!.Value - ended.StartedAt);
        }

        if (outcome.WorkerLost)
        {
            StevedoreMetrics.WorkerLost(finished.Job);
        }

        StevedoreTracing.Outcome(span, finished.Status, finished.Error);
        await AfterAttemptAsync(finished);
        return finished;
    }

    /// <summary>
    /// Gives the job's run slot back and, when the task runs again, hands it to its partition. Both are harmless to
    /// repeat; when one fails the caller reports again, and a partition would find the task when it reconciles.
    /// </summary>
    private async Task AfterAttemptAsync(TaskRecord task)
    {
        if (HoldsSlot(task))
        {
            await GrainFactory.Job(task.Job).ReleaseAsync(task.Id);
        }

        if (task.Status == TaskRunStatus.Queued)
        {
            await GrainFactory.Partition(task.Partition).EnqueueAsync([QueueEntry.For(task)]);
        }
    }

    /// <summary>
    /// Whether the attempt that just ended holds a slot of its job, so the job grain must be told it ended. A run started
    /// with a definition without <c>maxConcurrency</c> was leased on the job's pass and holds none (one grain call less
    /// per task of an unlimited job), unless a limit added while it ran counted it (<see cref="HoldsSlotAsync"/>). An
    /// activation that did not start the run does not know: it tells the job grain, which is harmless.
    /// </summary>
    private bool HoldsSlot(TaskRecord task) =>
        _holdsSlot || _runningJob is not { Spec.MaxConcurrency: 0 } || _runningJob.Version != task.JobVersion;

    public async Task HoldsSlotAsync()
    {
        if (_task is null)
        {
            return; // gone: the job grain's slot check drops its slot
        }

        if (_task.Status == TaskRunStatus.Running)
        {
            // Given back when the attempt ends (an activation that did not start the run gives it back anyway).
            _holdsSlot = true;
            return;
        }

        // It ended before the job grain counted it, and its end skipped the release: give the slot back now.
        await GrainFactory.Job(_task.Job).ReleaseAsync(_task.Id);
    }

    public async Task<CancelResult> CancelAsync()
    {
        if (_task is null)
        {
            return new CancelResult(CancelOutcome.NotFound, null);
        }

        if (_task.Status.IsTerminal())
        {
            return new CancelResult(CancelOutcome.AlreadyFinished, _task);
        }

        var wasQueued = _task.Status == TaskRunStatus.Queued;
        if (TaskTransitions.Cancel(_task, time.GetUtcNow()) is { } cancelled)
        {
            await SaveAsync(cancelled);
        }

        if (wasQueued)
        {
            await GrainFactory.Partition(_task.Partition).RemoveAsync(_task.Id);
            return new CancelResult(CancelOutcome.Cancelled, _task);
        }

        if (_task.Node is { } node)
        {
            await GrainFactory.GetGrain<IWorkerNodeGrain>(node).CancelTaskAsync(_task.Id);
        }

        return new CancelResult(CancelOutcome.CancelRequested, _task);
    }

    public async Task AbandonAsync(string reason)
    {
        if (_task is not null && TaskTransitions.Abandon(_task, reason, time.GetUtcNow()) is { } abandoned)
        {
            await SaveAsync(abandoned);
        }
    }

    public async Task ExpireLeaseAsync(int attempt)
    {
        if (_task is not { Status: TaskRunStatus.Running } || _task.Attempt != attempt)
        {
            return;
        }

        LogLeaseLapsed(logger, _task.Id, attempt, _task.Node);
        StevedoreMetrics.LeaseExpired(_task.Job);
        await CompleteAsync(attempt, new RunOutcome
        {
            Status = TaskRunStatus.Failed,
            Error = $"worker lost: node {_task.Node} stopped renewing the lease of attempt {attempt}",
            WorkerLost = true,
            LeaseLapsed = true,
        });
    }

    private async Task SaveAsync(TaskRecord task, DateTimeOffset? leaseUntil = null)
    {
        await tasks.UpdateAsync(task, leaseUntil);
        if (task.Status.IsTerminal() && _task?.Status.IsTerminal() != true)
        {
            StevedoreMetrics.Finished(task.Job, task.Status);
        }

        _task = task;
        events.Publish(task.Id);
        if (task.Status.IsTerminal())
        {
            // Finished tasks are read from the store; an activation per finished task would only fill memory.
            DeactivateOnIdle();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The lease of task {TaskId} attempt {Attempt} on node {Node} lapsed: it runs again.")]
    private static partial void LogLeaseLapsed(ILogger logger, string taskId, int attempt, string? node);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Ignored outcome of attempt {Attempt} of task {TaskId}: it is at attempt {Current}, {Status}.")]
    private static partial void LogStaleOutcome(ILogger logger, string taskId, int attempt, int current, TaskRunStatus status);
}

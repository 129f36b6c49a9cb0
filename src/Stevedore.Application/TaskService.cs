using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Stevedore.Options;
using Stevedore.Storage;
using Stevedore.Telemetry;

namespace Stevedore.Application;

public sealed record EnqueueResult(TaskRecord Task, bool Existing);

/// <summary>What a redrive did: tasks queued again, dead letters redriven before (within the idempotency window), and whether more remain.</summary>
public sealed record RedriveResult(int Queued, int AlreadyRedriven, bool More);

/// <summary>Tasks, as every front end (HTTP, gRPC, CLI, triggers) sees them. Triggers only ever create tasks here.</summary>
public sealed partial class TaskService(
    IGrainFactory grains,
    ITaskStore tasks,
    ITaskIntake intake,
    ITaskContentStore content,
    ITaskEvents events,
    TaskLogReader logs,
    IOptions<QueueOptions> options,
    TimeProvider time,
    ILogger<TaskService> logger)
{
    /// <summary>Retry-After of a refusal under maxQueued: the job grain counts its queue again at most once a second.</summary>
    public static readonly TimeSpan QueueFullRetryAfter = TimeSpan.FromSeconds(1);

    private readonly QueueOptions _options = options.Value;

    public async Task<AppResult<EnqueueResult>> EnqueueAsync(string jobName, TaskDraft draft, string? retryOf = null)
    {
        var job = await FindJobAsync(jobName);
        if (!job.Ok)
        {
            return job.Error!;
        }

        var errors = new FieldErrors();
        Validation.Task(draft, errors);
        if (errors.Any)
        {
            return AppError.Invalid(errors);
        }

        if (TooLarge(draft, "") is { } tooLarge)
        {
            return tooLarge;
        }

        if (await AdmitAsync(job.Value!, 1) is { } full)
        {
            return full;
        }

        using var span = StevedoreTracing.StartEnqueue(jobName, 1);
        AddedTask added;
        try
        {
            added = await intake.AddAsync(New(job.Value!, draft, time.GetUtcNow(), retryOf, StevedoreTracing.ContextToKeep(span, draft.TraceParent)));
        }
        finally
        {
            Settle(job.Value!, 1);
        }

        span?.SetTag("stevedore.task_id", added.Task.Id);
        if (added.Existing)
        {
            // A task with the same idempotency key was stored first.
            return new EnqueueResult(added.Task, Existing: true);
        }

        await QueueAsync([added.Task]);
        StevedoreMetrics.Enqueued(added.Task.Job);
        return new EnqueueResult(added.Task, Existing: false);
    }

    /// <summary>Enqueues up to 1000 tasks of one job; all or none are accepted. Returns their ids in order.</summary>
    public async Task<AppResult<IReadOnlyList<string>>> EnqueueBatchAsync(string jobName, IReadOnlyList<TaskDraft> drafts)
    {
        var job = await FindJobAsync(jobName);
        if (!job.Ok)
        {
            return job.Error!;
        }

        var errors = new FieldErrors();
        if (drafts.Count is 0 or > Validation.MaxBatch)
        {
            errors.Add("tasks", $"must hold 1 to {Validation.MaxBatch} tasks; got {drafts.Count}");
            return AppError.Invalid(errors);
        }

        for (var i = 0; i < drafts.Count; i++)
        {
            var itemErrors = new FieldErrors();
            Validation.Task(drafts[i], itemErrors);
            errors.AddAll($"tasks[{i}].", itemErrors);
        }

        if (errors.Any)
        {
            return AppError.Invalid(errors);
        }

        for (var i = 0; i < drafts.Count; i++)
        {
            if (TooLarge(drafts[i], $"tasks[{i}].") is { } tooLarge)
            {
                return tooLarge;
            }
        }

        using var span = StevedoreTracing.StartEnqueue(jobName, drafts.Count);
        var now = time.GetUtcNow();
        if (await AdmitAsync(job.Value!, drafts.Count) is { } full)
        {
            return full;
        }

        IReadOnlyList<AddedTask> added;
        try
        {
            added = await intake.AddManyAsync(drafts.Select(d => New(job.Value!, d, now, retryOf: null, StevedoreTracing.ContextToKeep(span, d.TraceParent))).ToList());
        }
        finally
        {
            Settle(job.Value!, drafts.Count);
        }

        // Those that answered with an existing task were stored and queued by the request that stored them.
        var fresh = added.Where(a => !a.Existing).Select(a => a.Task).ToList();
        await QueueAsync(fresh);
        StevedoreMetrics.Enqueued(jobName, fresh.Count);
        return added.Select(a => a.Task.Id).ToList();
    }

    public async Task<AppResult<TaskRecord>> GetAsync(string id)
    {
        if (!TaskIds.IsValid(id))
        {
            return NotFound(id);
        }

        // Reads go to the task store, which a task's partition writes through before it answers: no grain call per
        // read, and reads keep working while a failed silo's grains move.
        var task = await tasks.GetAsync(id);
        return task is null ? NotFound(id) : task;
    }

    public async Task<AppResult<TaskPage>> ListAsync(TaskListDraft draft, CancellationToken cancellationToken = default)
    {
        var errors = new FieldErrors();
        var query = Validation.TaskList(draft, errors);
        if (query is null)
        {
            return AppError.Invalid(errors);
        }

        return await tasks.QueryAsync(query, cancellationToken);
    }

    public async Task<AppResult<TaskRecord>> CancelAsync(string id)
    {
        if (!TaskIds.IsValid(id))
        {
            return NotFound(id);
        }

        // The task's partition, the one writer of its record, is derived from its id (as when it was enqueued).
        var result = await grains.Partition(TaskIds.PartitionOf(id, _options.Partitions)).CancelAsync(id);
        return result.Outcome switch
        {
            CancelOutcome.NotFound => NotFound(id),
            CancelOutcome.AlreadyFinished => AppError.Conflict(
                $"Task {id} already finished as {result.Task!.Status.ToWire()}; there is nothing to cancel. POST /v1/tasks/{id}/retry runs it again."),
            _ => result.Task!,
        };
    }

    /// <summary>
    /// Writes the task's log, stdout and stderr in the order written (or one of them), to <paramref name="write"/>, a
    /// page at a time; with <paramref name="follow"/>, keeps writing until the task has ended (see <see cref="TaskLogReader"/>).
    /// </summary>
    public async Task<AppError?> ReadLogAsync(
        string id, LogStream? only, bool follow, Func<ReadOnlyMemory<byte>, CancellationToken, Task> write, CancellationToken cancellationToken)
    {
        var task = await GetAsync(id);
        return task.Ok ? await logs.ReadAsync(id, only, follow, write, cancellationToken) : task.Error;
    }

    /// <summary>
    /// Hands newly stored tasks to their queue partitions. They are stored, so they will run whatever happens here:
    /// a partition that cannot be reached now finds them when it reconciles with the task store
    /// (<see cref="QueueOptions.ReconcileInterval"/>), and the caller is told they were accepted — a refusal would
    /// make it send them again, as duplicates.
    /// </summary>
    private async Task QueueAsync(List<TaskRecord> fresh)
    {
        var deliveries = fresh
            .GroupBy(t => t.Partition)
            .Select(async g =>
            {
                try
                {
                    await grains.Partition(g.Key).EnqueueAsync(g.ToList());
                }
                catch (Exception ex)
                {
                    LogDeliveryFailed(logger, ex, g.Count(), g.Key);
                }
            });
        await Task.WhenAll(deliveries);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Count} stored tasks did not reach queue partition {Partition}; it picks them up when it next reconciles with the task store.")]
    private static partial void LogDeliveryFailed(ILogger logger, Exception ex, int count, int partition);

    private NewTask New(JobInfo job, TaskDraft draft, DateTimeOffset now, string? retryOf, string? traceParent)
    {
        var id = TaskIds.New(now);
        var record = new TaskRecord
        {
            Id = id,
            Job = job.Name,
            JobVersion = job.Version,
            Status = TaskRunStatus.Queued,
            Priority = (int)(draft.Priority ?? job.Spec.Priority),
            MaxAttempts = job.Spec.Retries + 1,
            CreatedAt = now,
            RunAfter = draft.DelaySeconds is > 0 and var delay ? now.AddSeconds(delay) : null,
            Labels = draft.Labels is { Count: > 0 } labels ? labels : TaskRecord.NoLabels,
            RetryOf = retryOf,
            TimeoutSeconds = (int?)draft.TimeoutSeconds,
            IdempotencyKey = draft.IdempotencyKey,
            Partition = TaskIds.PartitionOf(id, _options.Partitions),
            PayloadBytes = draft.Payload.Length,
            TraceParent = traceParent,
            Environment = draft.Environment is { Count: > 0 } environment ? environment : TaskRecord.NoLabels,
        };
        return new NewTask(record, draft.Payload, now - _options.IdempotencyWindow);
    }

    /// <summary>Room under the job's maxQueued for <paramref name="count"/> new tasks, all or none; null when admitted.</summary>
    private async Task<AppError?> AdmitAsync(JobInfo job, int count)
    {
        if (job.Spec.MaxQueued == 0 || count == 0)
        {
            return null;
        }

        var answer = await grains.Job(job.Name).AdmitAsync(count);
        if (answer.Admitted)
        {
            return null;
        }

        return AppError.Busy(count > answer.MaxQueued
            ? $"These {count} tasks are more than job '{job.Name}' lets wait at once (maxQueued {answer.MaxQueued}); send fewer per call."
            : $"Job '{job.Name}' has {answer.Queued} tasks waiting, its limit (maxQueued {answer.MaxQueued}); try again once some have started.",
            QueueFullRetryAfter);
    }

    /// <summary>Reports an admission's tasks as stored (or failed); nothing to report for a job without maxQueued.</summary>
    private void Settle(JobInfo job, int count)
    {
        if (job.Spec.MaxQueued > 0 && count > 0)
        {
            _ = grains.Job(job.Name).SettleAsync(count);
        }
    }

    private AppError? TooLarge(TaskDraft draft, string field) =>
        draft.Payload.Length > _options.MaxPayloadBytes
            ? AppError.TooLarge($"{field}payload is {draft.Payload.Length} bytes; the limit is {_options.MaxPayloadBytes} bytes (Stevedore:Queue:MaxPayloadBytes). Store large inputs elsewhere and pass a reference.")
            : null;

    private async Task<AppResult<JobInfo>> FindJobAsync(string name)
    {
        if (Validation.CheckJobName(name) is not null)
        {
            return JobService.NotFound(name);
        }

        var job = await grains.Job(name).GetAsync();
        return job is null ? JobService.NotFound(name) : job;
    }

    private static AppError NotFound(string id) => AppError.NotFound($"There is no task '{id}'. List tasks with GET /v1/tasks.");
}

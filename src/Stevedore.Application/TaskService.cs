using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Stevedore.Options;
using Stevedore.Storage;

namespace Stevedore.Application;

public sealed record EnqueueResult(TaskRecord Task, bool Existing);

/// <summary>Tasks, as every front end (HTTP, gRPC, CLI, triggers) sees them. Triggers only ever create tasks here.</summary>
public sealed partial class TaskService(
    IGrainFactory grains,
    ITaskStore tasks,
    ITaskContentStore content,
    ITaskEvents events,
    IOptions<QueueOptions> options,
    TimeProvider time,
    ILogger<TaskService> logger)
{
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

        var stored = await StoreAsync(job.Value!, [draft], retryOf);
        return stored.Ok ? stored.Value![0] : stored.Error!;
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

        var stored = await StoreAsync(job.Value!, drafts, retryOf: null);
        return stored.Ok ? stored.Value!.Select(r => r.Task.Id).ToList() : stored.Error!;
    }

    /// <summary>
    /// Stores validated drafts as tasks — payloads first, then records with their idempotency keys in one atomic
    /// insert — and hands the new ones to their partitions. A draft whose key is held (by an earlier task, or by an
    /// earlier draft of the same call) answers with that task instead; the payload written for it is removed.
    /// </summary>
    private async Task<AppResult<IReadOnlyList<EnqueueResult>>> StoreAsync(JobInfo job, IReadOnlyList<TaskDraft> drafts, string? retryOf)
    {
        var now = time.GetUtcNow();
        var records = new TaskRecord[drafts.Count];
        var payloads = new List<KeyValuePair<string, ReadOnlyMemory<byte>>>(drafts.Count);
        for (var i = 0; i < drafts.Count; i++)
        {
            records[i] = NewRecord(job, drafts[i], now, retryOf);
            payloads.Add(new(records[i].Id, drafts[i].Payload));
        }

        await content.PutPayloadsAsync(payloads);
        var standIns = await tasks.InsertAsync(records, now - _options.IdempotencyWindow);
        var results = new EnqueueResult[drafts.Count];
        var fresh = new List<TaskRecord>(drafts.Count);
        var notStored = new List<string>();
        for (var i = 0; i < records.Length; i++)
        {
            if (standIns[i] is not { } holder)
            {
                fresh.Add(records[i]);
                results[i] = new EnqueueResult(records[i], Existing: false);
                continue;
            }

            notStored.Add(records[i].Id);
            var existing = Array.FindIndex(records, 0, i, r => r.Id == holder) is var earlier and >= 0
                ? records[earlier]
                : await tasks.GetAsync(holder);
            if (existing is null)
            {
                return AppError.Conflict(
                    $"idempotencyKey '{drafts[i].IdempotencyKey}' belongs to task {holder}, which no longer exists; send the task with a new key.");
            }

            results[i] = new EnqueueResult(existing, Existing: true);
        }

        if (notStored.Count > 0)
        {
            await content.DeletePayloadsAsync(notStored);
        }

        await QueueAsync(fresh);
        return results;
    }

    public async Task<AppResult<TaskRecord>> GetAsync(string id)
    {
        if (!TaskIds.IsValid(id))
        {
            return NotFound(id);
        }

        // Reads go to the task store, which every task grain writes through before it answers: no activation per
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

        var result = await grains.GetGrain<ITaskGrain>(id).CancelAsync();
        return result.Outcome switch
        {
            CancelOutcome.NotFound => NotFound(id),
            CancelOutcome.AlreadyFinished => AppError.Conflict(
                $"Task {id} already finished as {result.Task!.Status.ToWire()}; there is nothing to cancel. POST /v1/tasks/{id}/retry runs it again."),
            _ => result.Task!,
        };
    }

    /// <summary>A new task with the same job and payload, pointing back at the original.</summary>
    public async Task<AppResult<EnqueueResult>> RetryAsync(string id)
    {
        var original = await GetAsync(id);
        if (!original.Ok)
        {
            return original.Error!;
        }

        var task = original.Value!;
        if (!task.Status.IsTerminal())
        {
            return AppError.Conflict($"Task {id} is still {task.Status.ToWire()}; retry it once it has finished, or cancel it first.");
        }

        var payload = await content.GetPayloadAsync(id) ?? ReadOnlyMemory<byte>.Empty;
        return await EnqueueAsync(task.Job, new TaskDraft
        {
            Payload = payload,
            Priority = task.Priority,
            TimeoutSeconds = task.TimeoutSeconds,
            Labels = task.Labels,
            Environment = task.Environment,
        }, retryOf: id);
    }

    public async Task<AppResult<ReadOnlyMemory<byte>>> GetResultAsync(string id)
    {
        var task = await GetAsync(id);
        if (!task.Ok)
        {
            return task.Error!;
        }

        var result = await content.GetResultAsync(id);
        return result is { } bytes
            ? bytes
            : AppError.NotFound(task.Value!.Status.IsTerminal()
                ? $"Task {id} wrote no result (a job writes one to the file named by STEVEDORE_RESULT_FILE)."
                : $"Task {id} is {task.Value!.Status.ToWire()}; its result is there once it has finished, if it writes one.");
    }

    /// <summary>
    /// Writes the task's log, stdout and stderr in the order written (or one of them), to <paramref name="write"/>;
    /// with <paramref name="follow"/>, keeps writing until the task has ended.
    /// </summary>
    public async Task<AppError?> ReadLogAsync(
        string id, LogStream? only, bool follow, Func<ReadOnlyMemory<byte>, CancellationToken, Task> write, CancellationToken cancellationToken)
    {
        var task = await GetAsync(id);
        if (!task.Ok)
        {
            return task.Error;
        }

        long position = 0;
        var finished = !follow;
        while (true)
        {
            var (chunks, next) = await content.ReadLogAsync(id, position, cancellationToken);
            foreach (var chunk in chunks)
            {
                if (only is null || chunk.Stream == only)
                {
                    await write(chunk.Data, cancellationToken);
                }
            }

            position = next;
            if (finished)
            {
                return null;
            }

            if (chunks.Count == 0)
            {
                var changed = events.NextChange(id);
                var now = await tasks.GetAsync(id, cancellationToken);
                if (now is null || now.Status.IsTerminal())
                {
                    // One last read: the worker flushes the log before it reports the end.
                    finished = true;
                    continue;
                }

                using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                // The change signal is per process; the timeout covers a task whose grain lives on another silo.
                wait.CancelAfter(TimeSpan.FromSeconds(1));
                try
                {
                    await Task.WhenAny(content.WaitForLogAsync(id, position, wait.Token), changed.WaitAsync(wait.Token));
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    // Time to look at the task's status again.
                }
            }
        }
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
                    await grains.Partition(g.Key).EnqueueAsync(g.Select(QueueEntry.For).ToList());
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

    private TaskRecord NewRecord(JobInfo job, TaskDraft draft, DateTimeOffset now, string? retryOf)
    {
        var id = TaskIds.New(now);
        return new TaskRecord
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
            Environment = draft.Environment is { Count: > 0 } environment ? environment : TaskRecord.NoLabels,
        };
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

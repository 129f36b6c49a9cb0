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
    ITaskContentStore content,
    ITaskEvents events,
    IOptions<QueueOptions> options,
    TimeProvider time)
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

        using var span = StevedoreTracing.StartEnqueue(jobName, 1);
        var now = time.GetUtcNow();
        var (record, existing) = await PrepareAsync(job.Value!, draft, now, retryOf, StevedoreTracing.ContextToKeep(span, draft.TraceParent));
        span?.SetTag("stevedore.task_id", record.Id);
        if (existing is not null)
        {
            return new EnqueueResult(existing, Existing: true);
        }

        await content.PutPayloadAsync(record.Id, draft.Payload);
        if ((await tasks.InsertAsync([record])).Count > 0)
        {
            // A concurrent request with the same idempotency key stored the task first.
            return new EnqueueResult((await tasks.GetAsync(record.Id))!, Existing: true);
        }

        await grains.Partition(record.Partition).EnqueueAsync([QueueEntry.For(record)]);
        StevedoreMetrics.Enqueued(record.Job);
        return new EnqueueResult(record, Existing: false);
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
        var ids = new string[drafts.Count];
        var fresh = new List<TaskRecord>(drafts.Count);
        var payloads = new List<KeyValuePair<string, ReadOnlyMemory<byte>>>(drafts.Count);
        for (var i = 0; i < drafts.Count; i++)
        {
            var (record, existing) = await PrepareAsync(job.Value!, drafts[i], now, retryOf: null, StevedoreTracing.ContextToKeep(span, drafts[i].TraceParent));
            ids[i] = existing?.Id ?? record.Id;
            if (existing is null)
            {
                fresh.Add(record);
                payloads.Add(new(record.Id, drafts[i].Payload));
            }
        }

        await content.PutPayloadsAsync(payloads);
        var existed = await tasks.InsertAsync(fresh);
        if (existed.Count > 0)
        {
            // Stored first by a concurrent request with the same idempotency key, which also queues them.
            var skip = existed.ToHashSet(StringComparer.Ordinal);
            fresh.RemoveAll(t => skip.Contains(t.Id));
        }

        await Task.WhenAll(fresh
            .GroupBy(t => t.Partition)
            .Select(g => grains.Partition(g.Key).EnqueueAsync(g.Select(QueueEntry.For).ToList())));
        StevedoreMetrics.Enqueued(jobName, fresh.Count);
        return ids;
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

    private async Task<(TaskRecord Record, TaskRecord? Existing)> PrepareAsync(JobInfo job, TaskDraft draft, DateTimeOffset now, string? retryOf, string? traceParent)
    {
        var id = TaskIds.New(now);
        if (draft.IdempotencyKey is { } key)
        {
            var holder = await tasks.ClaimIdempotencyKeyAsync(job.Name, key, id, now, now - _options.IdempotencyWindow);
            if (holder is not null)
            {
                if (await tasks.GetAsync(holder) is { } existing)
                {
                    return (existing, existing);
                }

                // The key was claimed but its task never got stored (the caller's earlier request died midway): make it now.
                id = holder;
            }
        }

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
        return (record, null);
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

using Stevedore.Storage;

namespace Stevedore.Application;

/// <summary>Finished tasks: retry, redrive of dead letters, deletion, and what they held.</summary>
public sealed partial class TaskService
{
    /// <summary>
    /// A new task with the same job and payload, pointing back at the original. With <paramref name="idempotencyKey"/>,
    /// a second retry under the same key within the idempotency window returns the task the first one made.
    /// </summary>
    public async Task<AppResult<EnqueueResult>> RetryAsync(string id, string? idempotencyKey = null)
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
            IdempotencyKey = idempotencyKey,
        }, retryOf: id);
    }

    /// <summary>
    /// Queues again the dead letters of a job — its failed and timed-out tasks, newest first, up to
    /// <see cref="Validation.MaxBatch"/> per call — each as a retry. Redriving one dead letter twice within the
    /// idempotency window queues it once.
    /// </summary>
    public async Task<AppResult<RedriveResult>> RedriveAsync(string jobName, CancellationToken cancellationToken = default)
    {
        var job = await FindJobAsync(jobName);
        if (!job.Ok)
        {
            return job.Error!;
        }

        int queued = 0, already = 0;
        foreach (var status in (TaskRunStatus[])[TaskRunStatus.Failed, TaskRunStatus.TimedOut])
        {
            string? cursor = null;
            do
            {
                var page = await tasks.QueryAsync(new TaskQuery { Job = jobName, Status = status, Limit = 200, Cursor = cursor }, cancellationToken);
                foreach (var task in page.Items)
                {
                    if (queued + already >= Validation.MaxBatch)
                    {
                        return new RedriveResult(queued, already, More: true);
                    }

                    var retried = await RedriveAsync(task);
                    if (!retried.Ok)
                    {
                        return retried.Error!;
                    }

                    (retried.Value!.Existing ? ref already : ref queued)++;
                }

                cursor = page.NextCursor;
            }
            while (cursor is not null);
        }

        return new RedriveResult(queued, already, More: false);
    }

    /// <summary>Queues one dead letter again (see <see cref="RedriveAsync(string, CancellationToken)"/>).</summary>
    public async Task<AppResult<EnqueueResult>> RedriveOneAsync(string id)
    {
        var task = await GetAsync(id);
        if (!task.Ok)
        {
            return task.Error!;
        }

        return task.Value!.Status is TaskRunStatus.Failed or TaskRunStatus.TimedOut
            ? await RedriveAsync(task.Value)
            : AppError.Conflict($"Task {id} is {task.Value.Status.ToWire()}, not a dead letter: only failed and timed-out tasks are redriven. POST /v1/tasks/{id}/retry runs any finished task again.");
    }

    private Task<AppResult<EnqueueResult>> RedriveAsync(TaskRecord task) => RetryAsync(task.Id, "redrive:" + task.Id);

    /// <summary>Removes a finished task with its payload, log, result and idempotency key.</summary>
    public async Task<AppResult<bool>> DeleteAsync(string id, CancellationToken cancellationToken = default)
    {
        var task = await GetAsync(id);
        if (!task.Ok)
        {
            return task.Error!;
        }

        if (!task.Value!.Status.IsTerminal())
        {
            return AppError.Conflict(
                $"Task {id} is {task.Value.Status.ToWire()}; only a finished task can be deleted. Cancel it first (POST /v1/tasks/{id}/cancel), then delete it.");
        }

        var deleted = await FinishedTasks.DeleteAsync(tasks, content, [id], cancellationToken);
        return deleted.Count == 1 || await tasks.GetAsync(id, cancellationToken) is null
            ? true
            : AppError.Conflict($"Task {id} is being written right now; try again.");
    }

    /// <summary>The payload the task was queued with (empty when it had none).</summary>
    public async Task<AppResult<ReadOnlyMemory<byte>>> GetPayloadAsync(string id)
    {
        var task = await GetAsync(id);
        if (!task.Ok)
        {
            return task.Error!;
        }

        return await content.GetPayloadAsync(id) ?? ReadOnlyMemory<byte>.Empty;
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
}

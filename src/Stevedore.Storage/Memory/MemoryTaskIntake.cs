namespace Stevedore.Storage.Memory;

/// <summary>
/// New tasks into the in-memory stores. A claim and its task are made under the task store's claim lock, so
/// concurrent callers with the same key see either no claim or the claim with its stored task.
/// </summary>
public sealed class MemoryTaskIntake(MemoryTaskStore tasks, MemoryTaskContentStore content) : ITaskIntake
{
    /// <summary>The intake over the stores a host registered; both must be the in-memory ones.</summary>
    public static MemoryTaskIntake Over(ITaskStore tasks, ITaskContentStore content) =>
        Unwrap(tasks) is MemoryTaskStore t && Unwrap(content) is MemoryTaskContentStore c
            ? new MemoryTaskIntake(t, c)
            : throw new InvalidOperationException($"The in-memory task intake needs the in-memory task stores; got {tasks.GetType().Name} and {content.GetType().Name}.");

    private static ITaskStore Unwrap(ITaskStore store) => store is Metered.MeteredTaskStore metered ? metered.Inner : store;

    private static ITaskContentStore Unwrap(ITaskContentStore store) => store is Metered.MeteredTaskContentStore metered ? metered.Inner : store;

    public Task<AddedTask> AddAsync(NewTask task, CancellationToken cancellationToken = default) => Task.FromResult(Add(task));

    public Task<IReadOnlyList<AddedTask>> AddManyAsync(IReadOnlyList<NewTask> tasks, CancellationToken cancellationToken = default)
    {
        var added = new AddedTask[tasks.Count];
        for (var i = 0; i < tasks.Count; i++)
        {
            added[i] = Add(tasks[i]);
        }

        return Task.FromResult<IReadOnlyList<AddedTask>>(added);
    }

    private AddedTask Add(NewTask task)
    {
        var record = task.Record;
        if (record.IdempotencyKey is not { } key)
        {
            return Store(task);
        }

        lock (tasks.ClaimLock)
        {
            if (tasks.Claims.TryGetValue((record.Job, key), out var held) && held.At >= task.KeyNotBefore && tasks.Find(held.TaskId) is { } existing)
            {
                return new AddedTask(existing, Existing: true);
            }

            tasks.Claims[(record.Job, key)] = (record.Id, record.CreatedAt);
            return Store(task);
        }
    }

    private AddedTask Store(NewTask task)
    {
        if (tasks.Find(task.Record.Id) is { } existing)
        {
            return new AddedTask(existing, Existing: true);
        }

        // The payload first: a reader that sees the task finds its payload. An empty one is not stored (it reads as empty).
        if (task.Payload.Length > 0)
        {
            content.PutPayload(task.Record.Id, task.Payload);
        }

        tasks.TryAdd(task.Record);
        return new AddedTask(task.Record, Existing: false);
    }
}

using System.Collections.Concurrent;

namespace Stevedore.Storage.Memory;

/// <summary>Task records in process memory: the embedded default, not durable. Records are immutable, so sharing is safe.</summary>
public sealed class MemoryTaskStore(TimeProvider? time = null) : ITaskStore
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    // Per partition, when each queued task became queued (inserted, or back in the queue): partitions reconcile by it.
    private readonly ConcurrentDictionary<int, ConcurrentDictionary<string, DateTimeOffset>> _queuedAt = new();
    private readonly ConcurrentDictionary<string, TaskRecord> _tasks = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, DateTimeOffset> _leases = new(StringComparer.Ordinal);
    // Per job, tasks per status, kept as records change (a task's record has one writer at a time: its grain).
    private readonly ConcurrentDictionary<string, long[]> _counts = new(StringComparer.Ordinal);

    public Task<IReadOnlyList<string>> InsertAsync(IReadOnlyList<TaskRecord> tasks, CancellationToken cancellationToken = default)
    {
        List<string>? existing = null;
        foreach (var task in tasks)
        {
            if (!TryAdd(task))
            {
                (existing ??= []).Add(task.Id);
            }
        }

        return Task.FromResult<IReadOnlyList<string>>(existing ?? []);
    }

    internal bool TryAdd(TaskRecord task)
    {
        if (!_tasks.TryAdd(task.Id, task))
        {
            return false;
        }

        Count(task.Job, task.Status, +1);
        TrackQueued(null, task);
        return true;
    }

    internal TaskRecord? Find(string id) => _tasks.GetValueOrDefault(id);

    /// <summary>
    /// Idempotency claims, (job, key) → (task, claimed at). They live with the tasks, so every intake over this store
    /// (one per silo when silos share it) sees the same claims; <see cref="MemoryTaskIntake"/> holds
    /// <see cref="ClaimLock"/> while it reads or makes one and stores its task.
    /// </summary>
    internal Dictionary<(string Job, string Key), (string TaskId, DateTimeOffset At)> Claims { get; } = [];

    internal Lock ClaimLock { get; } = new();

    public Task<TaskRecord?> GetAsync(string id, CancellationToken cancellationToken = default) =>
        Task.FromResult(_tasks.TryGetValue(id, out var task) ? task : null);

    public Task UpdateAsync(TaskRecord task, DateTimeOffset? leaseUntil = null, CancellationToken cancellationToken = default)
    {
        var old = _tasks.GetValueOrDefault(task.Id);
        if (old is not null && old.Status != task.Status)
        {
            Count(old.Job, old.Status, -1);
            Count(task.Job, task.Status, +1);
        }

        TrackQueued(old, task);
        _tasks[task.Id] = task;
        if (task.Status != TaskRunStatus.Running)
        {
            _leases.TryRemove(task.Id, out _);
        }
        else if (leaseUntil is { } until)
        {
            _leases[task.Id] = until;
        }

        return Task.CompletedTask;
    }

    public Task RenewLeasesAsync(IReadOnlyCollection<string> taskIds, DateTimeOffset until, CancellationToken cancellationToken = default)
    {
        foreach (var id in taskIds)
        {
            if (_tasks.TryGetValue(id, out var task) && task.Status == TaskRunStatus.Running)
            {
                _leases[id] = until;
            }
        }

        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<TaskRecord>> FindLapsedLeasesAsync(DateTimeOffset now, int max, CancellationToken cancellationToken = default) =>
        Task.FromResult<IReadOnlyList<TaskRecord>>(_leases
            .Where(l => l.Value < now)
            .Select(l => _tasks.TryGetValue(l.Key, out var t) ? t : null)
            .Where(t => t is { Status: TaskRunStatus.Running })
            .Take(max)
            .ToList()!);

    public Task<TaskPage> QueryAsync(TaskQuery query, CancellationToken cancellationToken = default)
    {
        var limit = Math.Max(1, query.Limit);
        var items = _tasks.Values
            .Where(t => query.Job is null || t.Job == query.Job)
            .Where(t => query.Status is null || t.Status == query.Status)
            .Where(t => query.Label is not { } label || (t.Labels.TryGetValue(label.Key, out var v) && v == label.Value))
            .Where(t => query.Cursor is null || string.CompareOrdinal(t.Id, query.Cursor) < 0)
            .OrderByDescending(t => t.Id, StringComparer.Ordinal)
            .Take(limit + 1)
            .ToList();
        string? next = null;
        if (items.Count > limit)
        {
            items.RemoveAt(limit);
            next = items[^1].Id;
        }

        return Task.FromResult(new TaskPage(items, next));
    }

    public Task<IReadOnlyDictionary<TaskRunStatus, long>> CountByStatusAsync(string job, CancellationToken cancellationToken = default)
    {
        var counts = _counts.TryGetValue(job, out var c) ? c : new long[s_statuses.Length];
        return Task.FromResult<IReadOnlyDictionary<TaskRunStatus, long>>(s_statuses.ToDictionary(s => s, s => Interlocked.Read(ref counts[(int)s])));
    }

    public Task<long> CountQueuedAsync(string job, CancellationToken cancellationToken = default) =>
        Task.FromResult(_counts.TryGetValue(job, out var c) ? Interlocked.Read(ref c[(int)TaskRunStatus.Queued]) : 0);

    private static readonly TaskRunStatus[] s_statuses = Enum.GetValues<TaskRunStatus>();

    private void Count(string job, TaskRunStatus status, int delta) =>
        Interlocked.Add(ref _counts.GetOrAdd(job, _ => new long[s_statuses.Length])[(int)status], delta);

    public Task<QueuedWindow> LoadQueuedSinceAsync(int partition, DateTimeOffset since, TimeSpan settle, CancellationToken cancellationToken = default)
    {
        var until = _time.GetUtcNow() - settle;
        var entries = Queued(partition)
            .Where(q => q.Value >= since && q.Value < until)
            .Select(q => _tasks.GetValueOrDefault(q.Key))
            .Where(t => t is { Status: TaskRunStatus.Queued, CancelRequested: false })
            .Select(t => QueueEntry.For(t!))
            .ToList();
        return Task.FromResult(new QueuedWindow(entries, until));
    }

    private void TrackQueued(TaskRecord? old, TaskRecord task)
    {
        if (task.Status != TaskRunStatus.Queued)
        {
            Queued(task.Partition).TryRemove(task.Id, out _);
        }
        else if (old?.Status != TaskRunStatus.Queued)
        {
            Queued(task.Partition)[task.Id] = _time.GetUtcNow();
        }
    }

    private ConcurrentDictionary<string, DateTimeOffset> Queued(int partition) =>
        _queuedAt.GetOrAdd(partition, static _ => new ConcurrentDictionary<string, DateTimeOffset>(StringComparer.Ordinal));

    public Task<IReadOnlyList<string>> LoadRunningAsync(string job, CancellationToken cancellationToken = default) =>
        Task.FromResult<IReadOnlyList<string>>(_tasks.Values
            .Where(t => t.Job == job && t.Status == TaskRunStatus.Running)
            .Select(t => t.Id)
            .ToList());


    public Task<IReadOnlyDictionary<string, IReadOnlyDictionary<TaskRunStatus, long>>> CountAllByStatusAsync(CancellationToken cancellationToken = default) =>
        Task.FromResult<IReadOnlyDictionary<string, IReadOnlyDictionary<TaskRunStatus, long>>>(_counts
            .Select(kv => (kv.Key, Counts: s_statuses.ToDictionary(s => s, s => Interlocked.Read(ref kv.Value[(int)s]))))
            .Where(j => j.Counts.Values.Any(c => c > 0))
            .ToDictionary(j => j.Key, j => (IReadOnlyDictionary<TaskRunStatus, long>)j.Counts, StringComparer.Ordinal));

    public Task<IReadOnlyList<string>> FindExpiredAsync(RetentionCutoffs cutoffs, int max, CancellationToken cancellationToken = default) =>
        Task.FromResult<IReadOnlyList<string>>(_tasks.Values
            .Where(t => t.Status.IsTerminal() && t.FinishedAt < cutoffs.For(t.Job))
            .Take(max)
            .Select(t => t.Id)
            .ToList());

    public Task<IReadOnlyList<string>> DeleteFinishedAsync(IReadOnlyList<string> ids, CancellationToken cancellationToken = default)
    {
        var deleted = new List<string>(ids.Count);
        foreach (var id in ids)
        {
            if (!_tasks.TryGetValue(id, out var task) || !task.Status.IsTerminal() || !_tasks.TryRemove(new(id, task)))
            {
                continue; // gone already, not finished, or written right now
            }

            deleted.Add(id);
            Count(task.Job, task.Status, -1);
            _leases.TryRemove(id, out _);
            if (task.IdempotencyKey is { } key)
            {
                lock (ClaimLock)
                {
                    if (Claims.TryGetValue((task.Job, key), out var held) && held.TaskId == id)
                    {
                        Claims.Remove((task.Job, key));
                    }
                }
            }
        }

        return Task.FromResult<IReadOnlyList<string>>(deleted);
    }

    public Task<int> DeleteLapsedIdempotencyKeysAsync(DateTimeOffset claimedBefore, int max, CancellationToken cancellationToken = default)
    {
        var removed = 0;
        lock (ClaimLock)
        {
            foreach (var key in Claims.Where(c => c.Value.At < claimedBefore).Take(max).Select(c => c.Key).ToList())
            {
                Claims.Remove(key);
                removed++;
            }
        }

        return Task.FromResult(removed);
    }
}

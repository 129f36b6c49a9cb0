namespace Stevedore.Storage;

/// <summary>
/// Task records: the durable state of each task's lifecycle and the index behind task listings. A record is inserted
/// once by the application layer and from then on written only by its queue partition grain.
/// </summary>
public interface ITaskStore
{
    /// <summary>
    /// Inserts task records; returns the ids of those that existed already (and were left as they were). New tasks
    /// come in through <see cref="ITaskIntake"/>, which stores their payloads and idempotency keys with them.
    /// </summary>
    Task<IReadOnlyList<string>> InsertAsync(IReadOnlyList<TaskRecord> tasks, CancellationToken cancellationToken = default);
    Task<TaskRecord?> GetAsync(string id, CancellationToken cancellationToken = default);
    /// <summary>
    /// Writes a task's record. A running task keeps its lease unless <paramref name="leaseUntil"/> sets a new one;
    /// any other status drops it.
    /// </summary>
    Task UpdateAsync(TaskRecord task, DateTimeOffset? leaseUntil = null, CancellationToken cancellationToken = default);

    /// <summary>Extends the leases of running tasks (a worker's heartbeat for the containers it runs).</summary>
    Task RenewLeasesAsync(IReadOnlyCollection<string> taskIds, DateTimeOffset until, CancellationToken cancellationToken = default);

    /// <summary>Running tasks whose lease lapsed before <paramref name="now"/>: their worker is gone.</summary>
    Task<IReadOnlyList<TaskRecord>> FindLapsedLeasesAsync(DateTimeOffset now, int max, CancellationToken cancellationToken = default);
    Task<TaskPage> QueryAsync(TaskQuery query, CancellationToken cancellationToken = default);
    Task<IReadOnlyDictionary<TaskRunStatus, long>> CountByStatusAsync(string job, CancellationToken cancellationToken = default);

    /// <summary>How many of a job's tasks are queued now (waiting to start, delayed, or waiting for a retry).</summary>
    Task<long> CountQueuedAsync(string job, CancellationToken cancellationToken = default);

    /// <summary>
    /// Queued tasks of one partition that became queued (were inserted, or went back to the queue) at or after
    /// <paramref name="since"/> and before <see cref="QueuedWindow.Until"/> = the store's now minus
    /// <paramref name="settle"/>: a partition rebuilds itself with everything (since = <see cref="DateTimeOffset.MinValue"/>,
    /// settle zero), then reconciles window after window, each task once, to find those whose delivery to it failed.
    /// </summary>
    Task<QueuedWindow> LoadQueuedSinceAsync(int partition, DateTimeOffset since, TimeSpan settle, CancellationToken cancellationToken = default);

    /// <summary>Ids of a job's tasks that are running, to rebuild its run slots.</summary>
    Task<IReadOnlyList<string>> LoadRunningAsync(string job, CancellationToken cancellationToken = default);

    /// <summary>Task counts per status of every job that has tasks (deleted jobs included while their tasks remain).</summary>
    Task<IReadOnlyDictionary<string, IReadOnlyDictionary<TaskRunStatus, long>>> CountAllByStatusAsync(CancellationToken cancellationToken = default);

    /// <summary>Ids of up to <paramref name="max"/> tasks that finished before their job's cutoff.</summary>
    Task<IReadOnlyList<string>> FindExpiredAsync(RetentionCutoffs cutoffs, int max, CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes the records of finished tasks, and the idempotency keys that point at them. Tasks that are not finished
    /// (or are being written right now) are left alone. Returns the ids deleted.
    /// </summary>
    Task<IReadOnlyList<string>> DeleteFinishedAsync(IReadOnlyList<string> ids, CancellationToken cancellationToken = default);

    /// <summary>Deletes up to <paramref name="max"/> idempotency keys claimed before <paramref name="claimedBefore"/>; returns how many.</summary>
    Task<int> DeleteLapsedIdempotencyKeysAsync(DateTimeOffset claimedBefore, int max, CancellationToken cancellationToken = default);
}

/// <summary>Finished tasks older than these go: a cutoff per job that has its own retention, the default for every other job.</summary>
public sealed record RetentionCutoffs(DateTimeOffset Default, IReadOnlyDictionary<string, DateTimeOffset> PerJob)
{
    public DateTimeOffset For(string job) => PerJob.TryGetValue(job, out var cutoff) ? cutoff : Default;
}

public sealed record TaskQuery
{
    public string? Job { get; init; }
    public TaskRunStatus? Status { get; init; }
    public KeyValuePair<string, string>? Label { get; init; }
    public int Limit { get; init; } = 50;
    /// <summary>Ids sort by creation time; the page holds tasks with ids below the cursor.</summary>
    public string? Cursor { get; init; }
}

/// <summary>Queued tasks found in a window, and where the window ended (the next one starts there).</summary>
public sealed record QueuedWindow(IReadOnlyList<QueueEntry> Entries, DateTimeOffset Until);

public sealed record TaskPage(IReadOnlyList<TaskRecord> Items, string? NextCursor);

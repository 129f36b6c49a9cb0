using static System.Diagnostics.Stopwatch;
using static Stevedore.Storage.Metered.StoreTiming;

namespace Stevedore.Storage.Metered;

/// <summary>Any task store, with the latency of each call recorded (<c>stevedore.store.duration</c>, store "tasks").</summary>
public sealed class MeteredTaskStore(ITaskStore inner) : ITaskStore
{
    private const string Store = "tasks";

    /// <summary>The store it measures (the in-memory intake works on the in-memory store itself).</summary>
    public ITaskStore Inner => inner;

    public Task<IReadOnlyList<string>> InsertAsync(IReadOnlyList<TaskRecord> tasks, CancellationToken cancellationToken = default) =>
        Timed(GetTimestamp(), inner.InsertAsync(tasks, cancellationToken), Store, "insert");

    public Task<TaskRecord?> GetAsync(string id, CancellationToken cancellationToken = default) =>
        Timed(GetTimestamp(), inner.GetAsync(id, cancellationToken), Store, "get");

    public Task UpdateAsync(TaskRecord task, DateTimeOffset? leaseUntil = null, CancellationToken cancellationToken = default) =>
        Timed(GetTimestamp(), inner.UpdateAsync(task, leaseUntil, cancellationToken), Store, "update");

    public Task RenewLeasesAsync(IReadOnlyCollection<string> taskIds, DateTimeOffset until, CancellationToken cancellationToken = default) =>
        Timed(GetTimestamp(), inner.RenewLeasesAsync(taskIds, until, cancellationToken), Store, "renew_leases");

    public Task<IReadOnlyList<TaskRecord>> FindLapsedLeasesAsync(DateTimeOffset now, int max, CancellationToken cancellationToken = default) =>
        Timed(GetTimestamp(), inner.FindLapsedLeasesAsync(now, max, cancellationToken), Store, "find_lapsed_leases");

    public Task<TaskPage> QueryAsync(TaskQuery query, CancellationToken cancellationToken = default) =>
        Timed(GetTimestamp(), inner.QueryAsync(query, cancellationToken), Store, "query");

    public Task<IReadOnlyDictionary<TaskRunStatus, long>> CountByStatusAsync(string job, CancellationToken cancellationToken = default) =>
        Timed(GetTimestamp(), inner.CountByStatusAsync(job, cancellationToken), Store, "count");

    public Task<long> CountQueuedAsync(string job, CancellationToken cancellationToken = default) =>
        Timed(GetTimestamp(), inner.CountQueuedAsync(job, cancellationToken), Store, "count_queued");

    public Task<QueuedWindow> LoadQueuedSinceAsync(int partition, DateTimeOffset since, TimeSpan settle, CancellationToken cancellationToken = default) =>
        Timed(GetTimestamp(), inner.LoadQueuedSinceAsync(partition, since, settle, cancellationToken), Store, "load_queued");

    public Task<IReadOnlyList<string>> LoadRunningAsync(string job, CancellationToken cancellationToken = default) =>
        Timed(GetTimestamp(), inner.LoadRunningAsync(job, cancellationToken), Store, "load_running");

    public Task<IReadOnlyDictionary<string, IReadOnlyDictionary<TaskRunStatus, long>>> CountAllByStatusAsync(CancellationToken cancellationToken = default) =>
        Timed(GetTimestamp(), inner.CountAllByStatusAsync(cancellationToken), Store, "count_all");

    public Task<IReadOnlyList<string>> FindExpiredAsync(RetentionCutoffs cutoffs, int max, CancellationToken cancellationToken = default) =>
        Timed(GetTimestamp(), inner.FindExpiredAsync(cutoffs, max, cancellationToken), Store, "find_expired");

    public Task<IReadOnlyList<string>> DeleteFinishedAsync(IReadOnlyList<string> ids, CancellationToken cancellationToken = default) =>
        Timed(GetTimestamp(), inner.DeleteFinishedAsync(ids, cancellationToken), Store, "delete_finished");

    public Task<int> DeleteLapsedIdempotencyKeysAsync(DateTimeOffset claimedBefore, int max, CancellationToken cancellationToken = default) =>
        Timed(GetTimestamp(), inner.DeleteLapsedIdempotencyKeysAsync(claimedBefore, max, cancellationToken), Store, "delete_idempotency_keys");
}

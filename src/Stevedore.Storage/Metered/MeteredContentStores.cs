using static System.Diagnostics.Stopwatch;
using static Stevedore.Storage.Metered.StoreTiming;

namespace Stevedore.Storage.Metered;

/// <summary>Any content store, with the latency of each call recorded (store "content").</summary>
public sealed class MeteredTaskContentStore(ITaskContentStore inner) : ITaskContentStore
{
    private const string Store = "content";

    /// <summary>The store it measures (the in-memory intake works on the in-memory store itself).</summary>
    public ITaskContentStore Inner => inner;

    public Task PutPayloadAsync(string taskId, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken = default) =>
        Timed(GetTimestamp(), inner.PutPayloadAsync(taskId, payload, cancellationToken), Store, "put_payload");

    public Task PutPayloadsAsync(IReadOnlyList<KeyValuePair<string, ReadOnlyMemory<byte>>> payloads, CancellationToken cancellationToken = default) =>
        Timed(GetTimestamp(), inner.PutPayloadsAsync(payloads, cancellationToken), Store, "put_payloads");

    public Task<ReadOnlyMemory<byte>?> GetPayloadAsync(string taskId, CancellationToken cancellationToken = default) =>
        Timed(GetTimestamp(), inner.GetPayloadAsync(taskId, cancellationToken), Store, "get_payload");

    public Task PutResultAsync(string taskId, ReadOnlyMemory<byte> result, CancellationToken cancellationToken = default) =>
        Timed(GetTimestamp(), inner.PutResultAsync(taskId, result, cancellationToken), Store, "put_result");

    public Task<ReadOnlyMemory<byte>?> GetResultAsync(string taskId, CancellationToken cancellationToken = default) =>
        Timed(GetTimestamp(), inner.GetResultAsync(taskId, cancellationToken), Store, "get_result");

    public Task AppendLogAsync(string taskId, IReadOnlyList<LogChunk> chunks, CancellationToken cancellationToken = default) =>
        Timed(GetTimestamp(), inner.AppendLogAsync(taskId, chunks, cancellationToken), Store, "append_log");

    public Task<(IReadOnlyList<LogChunk> Chunks, long Next)> ReadLogAsync(string taskId, long from, int maxBytes, CancellationToken cancellationToken = default) =>
        Timed(GetTimestamp(), inner.ReadLogAsync(taskId, from, maxBytes, cancellationToken), Store, "read_log");

    // A wait lasts as long as the task writes nothing: not a latency.
    public Task WaitForLogAsync(string taskId, long position, CancellationToken cancellationToken) =>
        inner.WaitForLogAsync(taskId, position, cancellationToken);

    public Task DeleteAsync(IReadOnlyList<string> taskIds, CancellationToken cancellationToken = default) =>
        Timed(GetTimestamp(), inner.DeleteAsync(taskIds, cancellationToken), Store, "delete");
}

/// <summary>Any job store, with the latency of each call recorded (store "jobs").</summary>
public sealed class MeteredJobStore(IJobStore inner) : IJobStore
{
    private const string Store = "jobs";

    public Task<JobInfo?> GetAsync(string name, CancellationToken cancellationToken = default) =>
        Timed(GetTimestamp(), inner.GetAsync(name, cancellationToken), Store, "get");

    public Task UpsertAsync(JobInfo job, CancellationToken cancellationToken = default) =>
        Timed(GetTimestamp(), inner.UpsertAsync(job, cancellationToken), Store, "upsert");

    public Task<bool> DeleteAsync(string name, CancellationToken cancellationToken = default) =>
        Timed(GetTimestamp(), inner.DeleteAsync(name, cancellationToken), Store, "delete");

    public Task<IReadOnlyList<JobInfo>> ListAsync(CancellationToken cancellationToken = default) =>
        Timed(GetTimestamp(), inner.ListAsync(cancellationToken), Store, "list");

    public Task<IReadOnlyList<string>> ListSubscribersAsync(string topic, CancellationToken cancellationToken = default) =>
        Timed(GetTimestamp(), inner.ListSubscribersAsync(topic, cancellationToken), Store, "list_subscribers");
}

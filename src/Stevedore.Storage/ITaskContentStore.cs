namespace Stevedore.Storage;

public enum LogStream : byte
{
    Stdout = 1,
    Stderr = 2,
    /// <summary>Lines Stevedore itself writes into a task's log (attempt headers, truncation).</summary>
    System = 3,
}

public readonly record struct LogChunk(int Attempt, LogStream Stream, ReadOnlyMemory<byte> Data)
{
    /// <summary>Writers cut output into chunks of at most this many bytes, so a page of the log stays small.</summary>
    public const int MaxBytes = 64 * 1024;
}

/// <summary>The large things of a task, kept out of grain state: payload, log and result.</summary>
public interface ITaskContentStore
{
    Task PutPayloadAsync(string taskId, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken = default);
    Task PutPayloadsAsync(IReadOnlyList<KeyValuePair<string, ReadOnlyMemory<byte>>> payloads, CancellationToken cancellationToken = default);
    Task<ReadOnlyMemory<byte>?> GetPayloadAsync(string taskId, CancellationToken cancellationToken = default);

    Task PutResultAsync(string taskId, ReadOnlyMemory<byte> result, CancellationToken cancellationToken = default);
    Task<ReadOnlyMemory<byte>?> GetResultAsync(string taskId, CancellationToken cancellationToken = default);

    Task AppendLogAsync(string taskId, IReadOnlyList<LogChunk> chunks, CancellationToken cancellationToken = default);

    /// <summary>
    /// One page of the log: chunks from position <paramref name="from"/> on, in order, as long as the bytes before each
    /// chunk stay under <paramref name="maxBytes"/> (so at least one chunk when there is any), and the position after
    /// them. An empty page means the reader has caught up. A reader never holds more than a page in memory.
    /// </summary>
    Task<(IReadOnlyList<LogChunk> Chunks, long Next)> ReadLogAsync(string taskId, long from, int maxBytes, CancellationToken cancellationToken = default);

    /// <summary>
    /// Completes when the log grows past <paramref name="position"/>, or when the token fires. However many callers
    /// wait, a store watches each log once.
    /// </summary>
    Task WaitForLogAsync(string taskId, long position, CancellationToken cancellationToken);

    /// <summary>Deletes the payloads, results and logs of these tasks (retention, or a task deleted by hand).</summary>
    Task DeleteAsync(IReadOnlyList<string> taskIds, CancellationToken cancellationToken = default);
}

using System.Collections.Concurrent;

namespace Stevedore.Storage.Memory;

/// <summary>Payloads, logs and results in process memory: the embedded default, not durable.</summary>
public sealed class MemoryTaskContentStore : ITaskContentStore
{
    private readonly ConcurrentDictionary<string, ReadOnlyMemory<byte>> _payloads = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ReadOnlyMemory<byte>> _results = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, TaskLog> _logs = new(StringComparer.Ordinal);

    public Task PutPayloadAsync(string taskId, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken = default)
    {
        PutPayload(taskId, payload);
        return Task.CompletedTask;
    }

    internal void PutPayload(string taskId, ReadOnlyMemory<byte> payload) => _payloads[taskId] = payload;

    public Task PutPayloadsAsync(IReadOnlyList<KeyValuePair<string, ReadOnlyMemory<byte>>> payloads, CancellationToken cancellationToken = default)
    {
        foreach (var (id, payload) in payloads)
        {
            _payloads[id] = payload;
        }

        return Task.CompletedTask;
    }

    public Task<ReadOnlyMemory<byte>?> GetPayloadAsync(string taskId, CancellationToken cancellationToken = default) =>
        Task.FromResult(_payloads.TryGetValue(taskId, out var p) ? p : (ReadOnlyMemory<byte>?)null);

    public Task PutResultAsync(string taskId, ReadOnlyMemory<byte> result, CancellationToken cancellationToken = default)
    {
        _results[taskId] = result;
        return Task.CompletedTask;
    }

    public Task<ReadOnlyMemory<byte>?> GetResultAsync(string taskId, CancellationToken cancellationToken = default) =>
        Task.FromResult(_results.TryGetValue(taskId, out var r) ? r : (ReadOnlyMemory<byte>?)null);

    public Task AppendLogAsync(string taskId, IReadOnlyList<LogChunk> chunks, CancellationToken cancellationToken = default)
    {
        _logs.GetOrAdd(taskId, _ => new TaskLog()).Append(chunks);
        return Task.CompletedTask;
    }

    public Task<(IReadOnlyList<LogChunk> Chunks, long Next)> ReadLogAsync(string taskId, long from, int maxBytes, CancellationToken cancellationToken = default) =>
        Task.FromResult(_logs.TryGetValue(taskId, out var log) ? log.Read(from, maxBytes) : ((IReadOnlyList<LogChunk>)[], from));

    public Task WaitForLogAsync(string taskId, long position, CancellationToken cancellationToken) =>
        _logs.GetOrAdd(taskId, _ => new TaskLog()).WaitAsync(position, cancellationToken);

    public Task DeleteAsync(IReadOnlyList<string> taskIds, CancellationToken cancellationToken = default)
    {
        foreach (var id in taskIds)
        {
            _payloads.TryRemove(id, out _);
            _results.TryRemove(id, out _);
            _logs.TryRemove(id, out _);
        }

        return Task.CompletedTask;
    }

    private sealed class TaskLog
    {
        private readonly Lock _lock = new();
        private readonly List<LogChunk> _chunks = [];
        private TaskCompletionSource _grown = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Append(IReadOnlyList<LogChunk> chunks)
        {
            TaskCompletionSource grown;
            lock (_lock)
            {
                // Copy: callers reuse their buffers.
                foreach (var chunk in chunks)
                {
                    _chunks.Add(chunk with { Data = chunk.Data.ToArray() });
                }

                grown = _grown;
                _grown = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            grown.TrySetResult();
        }

        public (IReadOnlyList<LogChunk>, long) Read(long from, int maxBytes)
        {
            lock (_lock)
            {
                var start = (int)Math.Clamp(from, 0, _chunks.Count);
                var end = start;
                for (long bytes = 0; end < _chunks.Count && bytes < maxBytes; end++)
                {
                    bytes += _chunks[end].Data.Length;
                }

                return (_chunks.GetRange(start, end - start), end);
            }
        }

        public Task WaitAsync(long position, CancellationToken cancellationToken)
        {
            Task grown;
            lock (_lock)
            {
                if (_chunks.Count > position)
                {
                    return Task.CompletedTask;
                }

                grown = _grown.Task;
            }

            return grown.WaitAsync(cancellationToken);
        }
    }
}

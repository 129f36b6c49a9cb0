using System.Text;
using Stevedore.Storage;
using Stevedore.Telemetry;

namespace Stevedore.Execution.Worker;

/// <summary>
/// Buffers one attempt's output in write order and flushes it to the content store in chunks; stops keeping output
/// past the cap and writes one truncation line instead.
/// </summary>
public sealed class TaskLogWriter(ITaskContentStore store, string taskId, int attempt, long capBytes) : ITaskLogWriter
{
    private readonly Lock _lock = new();
    private readonly SemaphoreSlim _flushing = new(1, 1); // one flush at a time keeps chunks in write order
    private List<LogChunk> _pending = [];
    private MemoryStream? _current;
    private LogStream _currentStream;
    private long _written;
    private bool _truncated;

    public void Write(LogStream stream, ReadOnlySpan<byte> data)
    {
        lock (_lock)
        {
            if (_truncated || data.IsEmpty)
            {
                return;
            }

            var room = capBytes - _written;
            var kept = data.Length <= room ? data : data[..(int)room];
            Append(stream, kept);
            _written += kept.Length;
            if (kept.Length < data.Length)
            {
                _truncated = true;
                Append(LogStream.System, Encoding.UTF8.GetBytes(
                    $"\n[stevedore] log truncated: attempt {attempt} wrote more than {capBytes} bytes; the rest was dropped\n"));
            }
        }
    }

    public void WriteSystemLine(string line)
    {
        lock (_lock)
        {
            Append(LogStream.System, Encoding.UTF8.GetBytes($"[stevedore] {line}\n"));
        }
    }

    public async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        await _flushing.WaitAsync(cancellationToken);
        try
        {
            List<LogChunk> chunks;
            lock (_lock)
            {
                CloseCurrent();
                if (_pending.Count == 0)
                {
                    return;
                }

                chunks = _pending;
                _pending = [];
            }

            try
            {
                await store.AppendLogAsync(taskId, chunks, cancellationToken);
                chunks.ForEach(static c => StevedoreMetrics.LogWritten(c.Stream == LogStream.Stderr ? "stderr" : c.Stream == LogStream.Stdout ? "stdout" : "stevedore", c.Data.Length));
            }
            catch
            {
                // Keep them, in order, for the next flush: the store may be away for a while.
                lock (_lock)
                {
                    _pending.InsertRange(0, chunks);
                }

                throw;
            }
        }
        finally
        {
            _flushing.Release();
        }
    }

    private void Append(LogStream stream, ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty)
        {
            // Chunks of at most LogChunk.MaxBytes, so readers page through a log in small steps.
            if (_current is null || _currentStream != stream || _current.Length >= LogChunk.MaxBytes)
            {
                CloseCurrent();
                _current = new MemoryStream();
                _currentStream = stream;
            }

            var part = data[..(int)Math.Min(data.Length, LogChunk.MaxBytes - _current.Length)];
            _current.Write(part);
            data = data[part.Length..];
        }
    }

    private void CloseCurrent()
    {
        if (_current is { Length: > 0 })
        {
            _pending.Add(new LogChunk(attempt, _currentStream, _current.ToArray()));
        }

        _current = null;
    }
}

using Npgsql;

namespace Stevedore.Storage.Postgres;

/// <summary>Payloads, results and log chunks in their own tables; a log position is the last chunk's sequence number.</summary>
public sealed class PostgresTaskContentStore : ITaskContentStore
{
    private readonly NpgsqlDataSource db;
    private readonly Batcher<string, ReadOnlyMemory<byte>?> _payloadReads;
    private readonly Batcher<(string TaskId, ReadOnlyMemory<byte> Data), bool> _resultWrites;
    private readonly Batcher<(string TaskId, IReadOnlyList<LogChunk> Chunks), bool> _logWrites;
    private readonly PostgresLogWatch _logWatch;

    public PostgresTaskContentStore(NpgsqlDataSource db)
    {
        this.db = db;
        _payloadReads = new(GetPayloadsAsync);
        _resultWrites = new(PutResultsAsync);
        // Smaller batches than the others: a task's flush may carry many chunks.
        _logWrites = new(AppendLogsAsync, maxBatch: 64);
        _logWatch = new PostgresLogWatch(db);
    }

    private const int PageRows = 1000;

    public Task PutPayloadAsync(string taskId, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken = default) =>
        PutPayloadsAsync([new(taskId, payload)], cancellationToken);

    public async Task PutPayloadsAsync(IReadOnlyList<KeyValuePair<string, ReadOnlyMemory<byte>>> payloads, CancellationToken cancellationToken = default)
    {
        if (payloads.Count == 0)
        {
            return;
        }

        await using var command = db.CreateCommand(PutPayloadsSql);
        command.Parameters.AddWithValue(payloads.Select(p => p.Key).ToArray());
        command.Parameters.AddWithValue(payloads.Select(p => p.Value.ToArray()).ToArray());
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    internal const string PutPayloadsSql =
        "INSERT INTO stevedore_payloads (task_id, data) SELECT * FROM unnest($1::text[], $2::bytea[]) " +
        "ON CONFLICT (task_id) DO UPDATE SET data = EXCLUDED.data";

    // Workers read one payload and write one result per task; concurrent calls share a statement.
    public Task<ReadOnlyMemory<byte>?> GetPayloadAsync(string taskId, CancellationToken cancellationToken = default) =>
        _payloadReads.RunAsync(taskId);

    public Task PutResultAsync(string taskId, ReadOnlyMemory<byte> result, CancellationToken cancellationToken = default) =>
        _resultWrites.RunAsync((taskId, result));

    private async Task<IReadOnlyList<ReadOnlyMemory<byte>?>> GetPayloadsAsync(IReadOnlyList<string> ids)
    {
        await using var command = db.CreateCommand("SELECT task_id, data FROM stevedore_payloads WHERE task_id = ANY($1)");
        command.Parameters.AddWithValue(ids.Distinct(StringComparer.Ordinal).ToArray());
        var found = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                found[reader.GetString(0)] = (byte[])reader.GetValue(1);
            }
        }

        return ids.Select(id => found.TryGetValue(id, out var bytes) ? (ReadOnlyMemory<byte>?)bytes : null).ToList();
    }

    private async Task<IReadOnlyList<bool>> PutResultsAsync(IReadOnlyList<(string TaskId, ReadOnlyMemory<byte> Data)> results)
    {
        var last = results.GroupBy(r => r.TaskId, StringComparer.Ordinal).Select(g => g.Last()).ToList();
        await using var command = db.CreateCommand(
            "INSERT INTO stevedore_results (task_id, data) SELECT * FROM unnest($1::text[], $2::bytea[]) " +
            "ON CONFLICT (task_id) DO UPDATE SET data = EXCLUDED.data");
        command.Parameters.AddWithValue(last.Select(r => r.TaskId).ToArray());
        command.Parameters.AddWithValue(last.Select(r => r.Data.ToArray()).ToArray());
        await command.ExecuteNonQueryAsync();
        return results.Select(_ => true).ToList();
    }

    public Task<ReadOnlyMemory<byte>?> GetResultAsync(string taskId, CancellationToken cancellationToken = default) =>
        GetBytesAsync("SELECT data FROM stevedore_results WHERE task_id = $1", taskId, cancellationToken);

    // Every attempt flushes its log at least once; concurrent flushes of different tasks share a statement. A flush is
    // never cancelled once queued: its caller keeps the chunks for the next flush when it fails, so a flush reported
    // cancelled that wrote all the same would write them twice.
    public Task AppendLogAsync(string taskId, IReadOnlyList<LogChunk> chunks, CancellationToken cancellationToken = default) =>
        chunks.Count == 0 ? Task.CompletedTask : _logWrites.RunAsync((taskId, chunks));

    private async Task<IReadOnlyList<bool>> AppendLogsAsync(IReadOnlyList<(string TaskId, IReadOnlyList<LogChunk> Chunks)> flushes)
    {
        // In queue order, so a task's chunks get increasing sequence numbers in the order it wrote them.
        var rows = flushes.SelectMany(f => f.Chunks.Select(c => (f.TaskId, Chunk: c))).ToList();
        await using var command = db.CreateCommand(
            "INSERT INTO stevedore_logs (task_id, attempt, stream, data) " +
            "SELECT t, a, s, d FROM unnest($1::text[], $2::integer[], $3::smallint[], $4::bytea[]) WITH ORDINALITY AS c(t, a, s, d, n) ORDER BY n");
        command.Parameters.AddWithValue(rows.Select(r => r.TaskId).ToArray());
        command.Parameters.AddWithValue(rows.Select(r => r.Chunk.Attempt).ToArray());
        command.Parameters.AddWithValue(rows.Select(r => (short)r.Chunk.Stream).ToArray());
        command.Parameters.AddWithValue(rows.Select(r => r.Chunk.Data.ToArray()).ToArray());
        await command.ExecuteNonQueryAsync();
        return flushes.Select(_ => true).ToList();
    }

    public async Task<(IReadOnlyList<LogChunk> Chunks, long Next)> ReadLogAsync(string taskId, long from, int maxBytes, CancellationToken cancellationToken = default)
    {
        // A page: chunks while the bytes before each stay under the limit (octet_length reads a stored value's size
        // without loading it), and never more than PageRows rows.
        await using var command = db.CreateCommand(
            "SELECT seq, attempt, stream, data FROM (" +
            "SELECT seq, attempt, stream, data, sum(octet_length(data)) OVER (ORDER BY seq) - octet_length(data) AS before " +
            "FROM stevedore_logs WHERE task_id = $1 AND seq > $2 ORDER BY seq LIMIT $4) page " +
            "WHERE before < $3 ORDER BY seq");
        command.Parameters.AddWithValue(taskId);
        command.Parameters.AddWithValue(from);
        command.Parameters.AddWithValue((long)maxBytes);
        command.Parameters.AddWithValue(PageRows);
        var chunks = new List<LogChunk>();
        var next = from;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            next = reader.GetInt64(0);
            chunks.Add(new LogChunk(reader.GetInt32(1), (LogStream)reader.GetInt16(2), (byte[])reader.GetValue(3)));
        }

        return (chunks, next);
    }

    public Task WaitForLogAsync(string taskId, long position, CancellationToken cancellationToken) =>
        _logWatch.WaitAsync(taskId, position, cancellationToken);

    public async Task DeleteAsync(IReadOnlyList<string> taskIds, CancellationToken cancellationToken = default)
    {
        if (taskIds.Count == 0)
        {
            return;
        }

        var ids = taskIds.ToArray();
        await using var batch = db.CreateBatch();
        foreach (var table in (string[])["stevedore_payloads", "stevedore_results", "stevedore_logs"])
        {
            var command = new NpgsqlBatchCommand($"DELETE FROM {table} WHERE task_id = ANY($1)");
            command.Parameters.Add(new NpgsqlParameter { Value = ids });
            batch.BatchCommands.Add(command);
        }

        await batch.ExecuteNonQueryAsync(cancellationToken);
    }

    private async Task<ReadOnlyMemory<byte>?> GetBytesAsync(string sql, string taskId, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand(sql);
        command.Parameters.AddWithValue(taskId);
        return await command.ExecuteScalarAsync(cancellationToken) is byte[] bytes ? (ReadOnlyMemory<byte>?)bytes : null;
    }
}

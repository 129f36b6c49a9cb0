using Npgsql;
using NpgsqlTypes;

namespace Stevedore.Storage.Postgres;

/// <summary>Task records in <c>stevedore_tasks</c>: the whole record as jsonb, plus the columns queries filter on.</summary>
public sealed class PostgresTaskStore(NpgsqlDataSource db) : ITaskStore
{
    public async Task<IReadOnlyList<string>> InsertAsync(IReadOnlyList<TaskRecord> tasks, CancellationToken cancellationToken = default)
    {
        if (tasks.Count == 0)
        {
            return [];
        }

        await using var command = db.CreateCommand(
            "INSERT INTO stevedore_tasks (id, job, status, partition, priority, run_after, labels, record) " +
            "SELECT * FROM unnest($1::text[], $2::text[], $3::smallint[], $4::integer[], $5::smallint[], $6::timestamptz[], $7::jsonb[], $8::jsonb[]) " +
            "ON CONFLICT (id) DO NOTHING RETURNING id");
        command.Parameters.AddWithValue(tasks.Select(t => t.Id).ToArray());
        command.Parameters.AddWithValue(tasks.Select(t => t.Job).ToArray());
        command.Parameters.AddWithValue(tasks.Select(t => (short)t.Status).ToArray());
        command.Parameters.AddWithValue(tasks.Select(t => t.Partition).ToArray());
        command.Parameters.AddWithValue(tasks.Select(t => (short)t.Priority).ToArray());
        command.Parameters.AddWithValue(tasks.Select(t => t.RunAfter?.UtcDateTime).ToArray());
        command.Parameters.AddWithValue(tasks.Select(t => StoreJson.Serialize(t.Labels)).ToArray());
        command.Parameters.AddWithValue(tasks.Select(StoreJson.Serialize).ToArray());
        var inserted = new HashSet<string>(StringComparer.Ordinal);
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                inserted.Add(reader.GetString(0));
            }
        }

        return inserted.Count == tasks.Count ? [] : tasks.Select(t => t.Id).Where(id => !inserted.Contains(id)).ToList();
    }

    public async Task<TaskRecord?> GetAsync(string id, CancellationToken cancellationToken = default)
    {
        await using var command = db.CreateCommand("SELECT record FROM stevedore_tasks WHERE id = $1");
        command.Parameters.AddWithValue(id);
        return await command.ExecuteScalarAsync(cancellationToken) is string json ? StoreJson.Deserialize<TaskRecord>(json) : null;
    }

    public async Task UpdateAsync(TaskRecord task, DateTimeOffset? leaseUntil = null, CancellationToken cancellationToken = default)
    {
        await using var command = db.CreateCommand(
            "UPDATE stevedore_tasks SET status = $2, priority = $3, run_after = $4, record = $5, " +
            "lease_until = CASE WHEN $2 <> 1 THEN NULL ELSE COALESCE($6, lease_until) END WHERE id = $1");
        command.Parameters.AddWithValue(task.Id);
        command.Parameters.AddWithValue((short)task.Status);
        command.Parameters.AddWithValue((short)task.Priority);
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = (object?)task.RunAfter?.UtcDateTime ?? DBNull.Value });
        command.Parameters.AddWithValue(NpgsqlDbType.Jsonb, StoreJson.Serialize(task));
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = (object?)leaseUntil?.UtcDateTime ?? DBNull.Value });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task RenewLeasesAsync(IReadOnlyCollection<string> taskIds, DateTimeOffset until, CancellationToken cancellationToken = default)
    {
        if (taskIds.Count == 0)
        {
            return;
        }

        await using var command = db.CreateCommand("UPDATE stevedore_tasks SET lease_until = $2 WHERE id = ANY($1) AND status = 1");
        command.Parameters.AddWithValue(taskIds.ToArray());
        command.Parameters.AddWithValue(until.UtcDateTime);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<TaskRecord>> FindLapsedLeasesAsync(DateTimeOffset now, int max, CancellationToken cancellationToken = default)
    {
        await using var command = db.CreateCommand(
            "SELECT record FROM stevedore_tasks WHERE status = 1 AND lease_until < $1 ORDER BY lease_until LIMIT $2");
        command.Parameters.AddWithValue(now.UtcDateTime);
        command.Parameters.AddWithValue(max);
        return await ReadRecordsAsync(command, cancellationToken);
    }

    public async Task<TaskPage> QueryAsync(TaskQuery query, CancellationToken cancellationToken = default)
    {
        var where = new List<string>();
        await using var command = db.CreateCommand();
        if (query.Job is { } job)
        {
            command.Parameters.AddWithValue(job);
            where.Add($"job = ${command.Parameters.Count}");
        }

        if (query.Status is { } status)
        {
            command.Parameters.AddWithValue((short)status);
            where.Add($"status = ${command.Parameters.Count}");
        }

        if (query.Label is { } label)
        {
            command.Parameters.AddWithValue(NpgsqlDbType.Jsonb, StoreJson.Serialize(new Dictionary<string, string> { [label.Key] = label.Value }));
            where.Add($"labels @> ${command.Parameters.Count}");
        }

        if (query.Cursor is { } cursor)
        {
            command.Parameters.AddWithValue(cursor);
            where.Add($"id < ${command.Parameters.Count}");
        }

        var limit = Math.Max(1, query.Limit);
        command.Parameters.AddWithValue(limit + 1);
        command.CommandText =
            "SELECT record FROM stevedore_tasks" + (where.Count > 0 ? " WHERE " + string.Join(" AND ", where) : "") +
            $" ORDER BY id DESC LIMIT ${command.Parameters.Count}";
        var items = (List<TaskRecord>)await ReadRecordsAsync(command, cancellationToken);
        string? next = null;
        if (items.Count > limit)
        {
            items.RemoveAt(limit);
            next = items[^1].Id;
        }

        return new TaskPage(items, next);
    }

    public async Task<IReadOnlyDictionary<TaskRunStatus, long>> CountByStatusAsync(string job, CancellationToken cancellationToken = default)
    {
        await using var command = db.CreateCommand("SELECT status, count(*) FROM stevedore_tasks WHERE job = $1 GROUP BY status");
        command.Parameters.AddWithValue(job);
        var counts = Enum.GetValues<TaskRunStatus>().ToDictionary(s => s, _ => 0L);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            counts[(TaskRunStatus)reader.GetInt16(0)] = reader.GetInt64(1);
        }

        return counts;
    }

    public async Task<IReadOnlyList<QueueEntry>> LoadQueuedAsync(int partition, CancellationToken cancellationToken = default)
    {
        await using var command = db.CreateCommand("SELECT id, job, priority, run_after FROM stevedore_tasks WHERE partition = $1 AND status = 0");
        command.Parameters.AddWithValue(partition);
        var entries = new List<QueueEntry>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            DateTimeOffset? runAfter = reader.IsDBNull(3) ? null : new DateTimeOffset(reader.GetDateTime(3), TimeSpan.Zero);
            entries.Add(new QueueEntry(reader.GetString(0), reader.GetString(1), reader.GetInt16(2), runAfter));
        }

        return entries;
    }

    public async Task<IReadOnlyList<string>> LoadRunningAsync(string job, CancellationToken cancellationToken = default)
    {
        await using var command = db.CreateCommand("SELECT id FROM stevedore_tasks WHERE job = $1 AND status = 1");
        command.Parameters.AddWithValue(job);
        var ids = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            ids.Add(reader.GetString(0));
        }

        return ids;
    }

    public async Task<string?> ClaimIdempotencyKeyAsync(string job, string key, string taskId, DateTimeOffset now, DateTimeOffset notBefore, CancellationToken cancellationToken = default)
    {
        // Claim the key, or take over a lapsed claim; RETURNING yields a row only when this call holds the key.
        await using (var claim = db.CreateCommand(
            "INSERT INTO stevedore_idempotency (job, key, task_id, claimed_at) VALUES ($1, $2, $3, $4) " +
            "ON CONFLICT (job, key) DO UPDATE SET task_id = EXCLUDED.task_id, claimed_at = EXCLUDED.claimed_at " +
            "WHERE stevedore_idempotency.claimed_at < $5 RETURNING task_id"))
        {
            claim.Parameters.AddWithValue(job);
            claim.Parameters.AddWithValue(key);
            claim.Parameters.AddWithValue(taskId);
            claim.Parameters.AddWithValue(now.UtcDateTime);
            claim.Parameters.AddWithValue(notBefore.UtcDateTime);
            if (await claim.ExecuteScalarAsync(cancellationToken) is string)
            {
                return null;
            }
        }

        await using var holder = db.CreateCommand("SELECT task_id FROM stevedore_idempotency WHERE job = $1 AND key = $2");
        holder.Parameters.AddWithValue(job);
        holder.Parameters.AddWithValue(key);
        return await holder.ExecuteScalarAsync(cancellationToken) as string;
    }

    private static async Task<IReadOnlyList<TaskRecord>> ReadRecordsAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        var records = new List<TaskRecord>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            records.Add(StoreJson.Deserialize<TaskRecord>(reader.GetString(0)));
        }

        return records;
    }
}

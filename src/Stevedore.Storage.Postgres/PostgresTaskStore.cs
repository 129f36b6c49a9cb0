using Npgsql;
using NpgsqlTypes;

namespace Stevedore.Storage.Postgres;

/// <summary>Task records in <c>stevedore_tasks</c>: the whole record as jsonb, plus the columns queries filter on.</summary>
public sealed class PostgresTaskStore : ITaskStore
{
    private readonly NpgsqlDataSource db;
    private readonly Batcher<string, TaskRecord?> _reads;
    private readonly Batcher<(TaskRecord Task, DateTimeOffset? Lease), bool> _writes;

    public PostgresTaskStore(NpgsqlDataSource db)
    {
        this.db = db;
        _reads = new(GetManyAsync);
        _writes = new(UpdateManyAsync);
    }

    public async Task<IReadOnlyList<string>> InsertAsync(IReadOnlyList<TaskRecord> tasks, CancellationToken cancellationToken = default)
    {
        if (tasks.Count == 0)
        {
            return [];
        }

        await using var command = db.CreateCommand(InsertSql + " RETURNING id");
        BindInsert(command.Parameters, tasks);
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

    internal const string InsertSql =
        "INSERT INTO stevedore_tasks (id, job, status, partition, priority, run_after, labels, record) " +
        "SELECT * FROM unnest($1::text[], $2::text[], $3::smallint[], $4::integer[], $5::smallint[], $6::timestamptz[], $7::jsonb[], $8::jsonb[]) " +
        "ON CONFLICT (id) DO NOTHING";

    internal static void BindInsert(NpgsqlParameterCollection parameters, IReadOnlyList<TaskRecord> tasks)
    {
        parameters.AddWithValue(tasks.Select(t => t.Id).ToArray());
        parameters.AddWithValue(tasks.Select(t => t.Job).ToArray());
        parameters.AddWithValue(tasks.Select(t => (short)t.Status).ToArray());
        parameters.AddWithValue(tasks.Select(t => t.Partition).ToArray());
        parameters.AddWithValue(tasks.Select(t => (short)t.Priority).ToArray());
        parameters.AddWithValue(tasks.Select(t => t.RunAfter?.UtcDateTime).ToArray());
        parameters.AddWithValue(tasks.Select(t => StoreJson.Serialize(t.Labels)).ToArray());
        parameters.AddWithValue(tasks.Select(StoreJson.Serialize).ToArray());
    }

    // Task grains read and write one record at a time; concurrent calls are coalesced into one statement each.
    public Task<TaskRecord?> GetAsync(string id, CancellationToken cancellationToken = default) => _reads.RunAsync(id);

    public Task UpdateAsync(TaskRecord task, DateTimeOffset? leaseUntil = null, CancellationToken cancellationToken = default) =>
        _writes.RunAsync((task, leaseUntil));

    private async Task<IReadOnlyList<TaskRecord?>> GetManyAsync(IReadOnlyList<string> ids)
    {
        await using var command = db.CreateCommand("SELECT id, record FROM stevedore_tasks WHERE id = ANY($1)");
        command.Parameters.AddWithValue(ids.Distinct(StringComparer.Ordinal).ToArray());
        var found = new Dictionary<string, TaskRecord>(StringComparer.Ordinal);
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                found[reader.GetString(0)] = StoreJson.Deserialize<TaskRecord>(reader.GetString(1));
            }
        }

        return ids.Select(id => found.GetValueOrDefault(id)).ToList();
    }

    private async Task<IReadOnlyList<bool>> UpdateManyAsync(IReadOnlyList<(TaskRecord Task, DateTimeOffset? Lease)> updates)
    {
        // One writer per task (its grain, which awaits each write), but keep the last write per id all the same.
        var last = updates.GroupBy(u => u.Task.Id, StringComparer.Ordinal).Select(g => g.Last()).ToList();
        // Rows are locked in id order, as every multi-row write here does, so concurrent batches cannot deadlock.
        await using var command = db.CreateCommand(
            "WITH u AS (SELECT * FROM unnest($1::text[], $2::smallint[], $3::smallint[], $4::timestamptz[], $5::jsonb[], $6::timestamptz[]) " +
            "AS u(id, status, priority, run_after, record, lease)), " +
            "locked AS (SELECT t.id FROM stevedore_tasks t WHERE t.id IN (SELECT id FROM u) ORDER BY t.id FOR UPDATE) " +
            "UPDATE stevedore_tasks AS t SET status = u.status, priority = u.priority, run_after = u.run_after, record = u.record, " +
            "lease_until = CASE WHEN u.status <> 1 THEN NULL ELSE COALESCE(u.lease, t.lease_until) END, " +
            "queued_at = CASE WHEN u.status = 0 AND t.status <> 0 THEN now() ELSE t.queued_at END " +
            "FROM u WHERE t.id = u.id AND t.id IN (SELECT id FROM locked)");
        command.Parameters.AddWithValue(last.Select(u => u.Task.Id).ToArray());
        command.Parameters.AddWithValue(last.Select(u => (short)u.Task.Status).ToArray());
        command.Parameters.AddWithValue(last.Select(u => (short)u.Task.Priority).ToArray());
        command.Parameters.AddWithValue(last.Select(u => u.Task.RunAfter?.UtcDateTime).ToArray());
        command.Parameters.AddWithValue(last.Select(u => StoreJson.Serialize(u.Task)).ToArray());
        command.Parameters.AddWithValue(last.Select(u => u.Lease?.UtcDateTime).ToArray());
        await command.ExecuteNonQueryAsync();
        return updates.Select(_ => true).ToList();
    }

    public async Task RenewLeasesAsync(IReadOnlyCollection<string> taskIds, DateTimeOffset until, CancellationToken cancellationToken = default)
    {
        if (taskIds.Count == 0)
        {
            return;
        }

        await using var command = db.CreateCommand(
            "UPDATE stevedore_tasks SET lease_until = $2 WHERE id IN " +
            "(SELECT id FROM stevedore_tasks WHERE id = ANY($1) AND status = 1 ORDER BY id FOR UPDATE)");
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

    public async Task<long> CountQueuedAsync(string job, CancellationToken cancellationToken = default)
    {
        await using var command = db.CreateCommand("SELECT count(*) FROM stevedore_tasks WHERE job = $1 AND status = 0");
        command.Parameters.AddWithValue(job);
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    public async Task<QueuedWindow> LoadQueuedSinceAsync(int partition, DateTimeOffset since, TimeSpan settle, CancellationToken cancellationToken = default)
    {
        // The window ends at the database's own clock, which also stamps queued_at; a task's stamp is its
        // transaction's start, so the settle time covers transactions that were still open.
        await using var command = db.CreateCommand(
            "WITH w AS (SELECT now() - $3::interval AS until) " +
            "SELECT w.until, t.id, t.job, t.priority, t.run_after FROM w LEFT JOIN stevedore_tasks t " +
            "ON t.partition = $1 AND t.status = 0 AND t.queued_at >= $2 AND t.queued_at < w.until");
        command.Parameters.AddWithValue(partition);
        command.Parameters.AddWithValue(since == DateTimeOffset.MinValue ? DateTime.MinValue : since.UtcDateTime);
        command.Parameters.AddWithValue(settle);
        var entries = new List<QueueEntry>();
        var until = since;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            until = new DateTimeOffset(reader.GetDateTime(0), TimeSpan.Zero);
            if (!reader.IsDBNull(1))
            {
                DateTimeOffset? runAfter = reader.IsDBNull(4) ? null : new DateTimeOffset(reader.GetDateTime(4), TimeSpan.Zero);
                entries.Add(new QueueEntry(reader.GetString(1), reader.GetString(2), reader.GetInt16(3), runAfter));
            }
        }

        return new QueuedWindow(entries, until);
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

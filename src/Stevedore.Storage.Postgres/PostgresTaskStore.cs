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
        "INSERT INTO stevedore_tasks (id, job, status, partition, priority, run_after, labels, record, finished_at) " +
        "SELECT * FROM unnest($1::text[], $2::text[], $3::smallint[], $4::integer[], $5::smallint[], $6::timestamptz[], $7::jsonb[], $8::jsonb[], $9::timestamptz[]) " +
        "ON CONFLICT (id) DO NOTHING";

    internal static void BindInsert(NpgsqlParameterCollection parameters, IReadOnlyList<TaskRecord> tasks)
    {
        parameters.AddWithValue(tasks.Select(t => t.Id).ToArray());
        parameters.AddWithValue(tasks.Select(t => t.Job).ToArray());
        parameters.AddWithValue(tasks.Select(t => (short)t.Status).ToArray());
        parameters.AddWithValue(tasks.Select(t => t.Partition).ToArray());
        parameters.AddWithValue(tasks.Select(t => (short)t.Priority).ToArray());
        parameters.Add(Timestamps(tasks.Select(t => t.RunAfter?.UtcDateTime)));
        parameters.AddWithValue(tasks.Select(t => StoreJson.Serialize(t.Labels)).ToArray());
        parameters.AddWithValue(tasks.Select(StoreJson.Serialize).ToArray());
        parameters.Add(Timestamps(tasks.Select(FinishedAt)));
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
        // One writer per task (its partition, which awaits each write), but keep the last write per id all the same.
        // In id order: the plan, a nested loop over the ids as given (the one PostgreSQL takes for a batch this size),
        // then locks the rows in id order, as every multi-row write here does, so concurrent batches do not deadlock;
        // were another plan to lock them otherwise, a deadlock is undone and the batch written again (Transient). An
        // explicit SELECT … FOR UPDATE first, as before, wrote a lock record per row and cost a sixth of the update.
        var last = updates.GroupBy(u => u.Task.Id, StringComparer.Ordinal).Select(g => g.Last()).OrderBy(u => u.Task.Id, StringComparer.Ordinal).ToList();
        await using var command = db.CreateCommand(
            "UPDATE stevedore_tasks AS t SET status = u.status, priority = u.priority, run_after = u.run_after, record = u.record, finished_at = u.finished_at, " +
            "lease_until = CASE WHEN u.status <> 1 THEN NULL ELSE COALESCE(u.lease, t.lease_until) END, " +
            "queued_at = CASE WHEN u.status = 0 AND t.status <> 0 THEN now() ELSE t.queued_at END " +
            "FROM unnest($1::text[], $2::smallint[], $3::smallint[], $4::timestamptz[], $5::jsonb[], $6::timestamptz[], $7::timestamptz[]) " +
            "AS u(id, status, priority, run_after, record, lease, finished_at) WHERE t.id = u.id");
        command.Parameters.AddWithValue(last.Select(u => u.Task.Id).ToArray());
        command.Parameters.AddWithValue(last.Select(u => (short)u.Task.Status).ToArray());
        command.Parameters.AddWithValue(last.Select(u => (short)u.Task.Priority).ToArray());
        command.Parameters.Add(Timestamps(last.Select(u => u.Task.RunAfter?.UtcDateTime)));
        command.Parameters.AddWithValue(last.Select(u => StoreJson.Serialize(u.Task)).ToArray());
        command.Parameters.Add(Timestamps(last.Select(u => u.Lease?.UtcDateTime)));
        command.Parameters.Add(Timestamps(last.Select(u => FinishedAt(u.Task))));
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
            // Implied by the filter, and the condition of the label index (only labelled tasks are in it).
            where.Add($"labels @> ${command.Parameters.Count} AND labels <> '{{}}'::jsonb");
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
        return await ReadIdsAsync(command, cancellationToken);
    }

    /// <summary>
    /// An array of UTC times (or nulls), typed as such whatever it holds: left to infer, the driver types an array of only
    /// nulls otherwise than one with a time in it, and a statement sent with other types than it was prepared with is
    /// sent unprepared, parsed and planned again, which most batches of task writes then were.
    /// </summary>
    internal static NpgsqlParameter Timestamps(IEnumerable<DateTime?> times) =>
        new() { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz, Value = times.ToArray() };

    // The column the janitor deletes by: set once a task is final.
    private static DateTime? FinishedAt(TaskRecord task) => task.Status.IsTerminal() ? (task.FinishedAt ?? task.CreatedAt).UtcDateTime : null;

    public async Task<IReadOnlyDictionary<string, IReadOnlyDictionary<TaskRunStatus, long>>> CountAllByStatusAsync(CancellationToken cancellationToken = default)
    {
        await using var command = db.CreateCommand("SELECT job, status, count(*) FROM stevedore_tasks GROUP BY job, status");
        var counts = new Dictionary<string, Dictionary<TaskRunStatus, long>>(StringComparer.Ordinal);
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                var job = reader.GetString(0);
                if (!counts.TryGetValue(job, out var perStatus))
                {
                    counts[job] = perStatus = Enum.GetValues<TaskRunStatus>().ToDictionary(s => s, _ => 0L);
                }

                perStatus[(TaskRunStatus)reader.GetInt16(1)] = reader.GetInt64(2);
            }
        }

        return counts.ToDictionary(kv => kv.Key, kv => (IReadOnlyDictionary<TaskRunStatus, long>)kv.Value, StringComparer.Ordinal);
    }

    public async Task<IReadOnlyList<string>> FindExpiredAsync(RetentionCutoffs cutoffs, int max, CancellationToken cancellationToken = default)
    {
        // Job by job along the (job, finished_at) index of finished tasks: the distinct jobs by a loose index scan, then
        // each job's oldest finished tasks up to its cutoff. Nothing younger is read, however many tasks are kept.
        await using var command = db.CreateCommand(
            "WITH RECURSIVE jobs(job) AS (" +
            "  (SELECT job FROM stevedore_tasks WHERE status >= 2 ORDER BY job LIMIT 1) " +
            "  UNION ALL SELECT (SELECT t.job FROM stevedore_tasks t WHERE t.status >= 2 AND t.job > jobs.job ORDER BY t.job LIMIT 1) " +
            "  FROM jobs WHERE jobs.job IS NOT NULL), " +
            "own(job, cutoff) AS (SELECT * FROM unnest($2::text[], $3::timestamptz[])) " +
            "SELECT expired.id FROM jobs LEFT JOIN own ON own.job = jobs.job " +
            "CROSS JOIN LATERAL (SELECT t.id FROM stevedore_tasks t WHERE t.job = jobs.job AND t.status >= 2 " +
            "  AND t.finished_at < COALESCE(own.cutoff, $1) ORDER BY t.finished_at LIMIT $4) expired " +
            "WHERE jobs.job IS NOT NULL LIMIT $4");
        command.Parameters.AddWithValue(cutoffs.Default.UtcDateTime);
        command.Parameters.AddWithValue(cutoffs.PerJob.Keys.ToArray());
        command.Parameters.AddWithValue(cutoffs.PerJob.Values.Select(c => c.UtcDateTime).ToArray());
        command.Parameters.AddWithValue(max);
        return await ReadIdsAsync(command, cancellationToken);
    }

    public async Task<IReadOnlyList<string>> DeleteFinishedAsync(IReadOnlyList<string> ids, CancellationToken cancellationToken = default)
    {
        if (ids.Count == 0)
        {
            return [];
        }

        // Rows locked in id order; a row some other statement holds is skipped (the next sweep takes it).
        await using var command = db.CreateCommand(
            "WITH locked AS (SELECT id FROM stevedore_tasks WHERE id = ANY($1) AND status >= 2 ORDER BY id FOR UPDATE SKIP LOCKED), " +
            "deleted AS (DELETE FROM stevedore_tasks t USING locked WHERE t.id = locked.id RETURNING t.id, t.job, t.record->>'idempotencyKey' AS key), " +
            "keys AS (DELETE FROM stevedore_idempotency i USING deleted d WHERE i.job = d.job AND i.key = d.key AND i.task_id = d.id) " +
            "SELECT id FROM deleted");
        command.Parameters.AddWithValue(ids.ToArray());
        return await ReadIdsAsync(command, cancellationToken);
    }

    public async Task<int> DeleteLapsedIdempotencyKeysAsync(DateTimeOffset claimedBefore, int max, CancellationToken cancellationToken = default)
    {
        await using var command = db.CreateCommand(
            "DELETE FROM stevedore_idempotency WHERE ctid IN " +
            "(SELECT ctid FROM stevedore_idempotency WHERE claimed_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)");
        command.Parameters.AddWithValue(claimedBefore.UtcDateTime);
        command.Parameters.AddWithValue(max);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task<IReadOnlyList<string>> ReadIdsAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
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

using Npgsql;

namespace Stevedore.Storage.Postgres;

/// <summary>Idempotency keys in <c>stevedore_idempotency</c>, claimed inside the transaction that stores their tasks.</summary>
internal static class IdempotencyClaims
{
    /// <summary>
    /// Claims the keys of <paramref name="tasks"/> at <paramref name="claims"/> (distinct keys) in the caller's
    /// transaction. A key held by a stored task within its window sets that task in <paramref name="results"/>; the
    /// others are now this transaction's, their rows locked until it ends. Rows are claimed in key order, so
    /// concurrent transactions wait for each other instead of deadlocking.
    /// </summary>
    public static async Task ClaimAsync(
        NpgsqlConnection connection, IReadOnlyList<NewTask> tasks, IEnumerable<int> claims, AddedTask?[] results, CancellationToken cancellationToken)
    {
        var mine = claims.ToList();
        // A held key's row is "updated" to itself: that locks it, and RETURNING names its holder.
        await using var claim = new NpgsqlCommand(
            "INSERT INTO stevedore_idempotency AS i (job, key, task_id, claimed_at) " +
            "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[]) AS c(job, key, task_id, claimed_at) ORDER BY job, key " +
            "ON CONFLICT (job, key) DO UPDATE SET claimed_at = i.claimed_at RETURNING job, key, task_id, claimed_at", connection);
        Bind(claim.Parameters, tasks, mine);
        var holders = new Dictionary<(string Job, string Key), (string TaskId, DateTimeOffset At)>();
        await using (var reader = await claim.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                holders[(reader.GetString(0), reader.GetString(1))] = (reader.GetString(2), reader.GetFieldValue<DateTimeOffset>(3));
            }
        }

        var held = new List<(int Index, string Holder)>();
        var takeOver = new List<int>();
        foreach (var i in mine)
        {
            var (taskId, at) = holders[(tasks[i].Record.Job, tasks[i].Record.IdempotencyKey!)];
            if (taskId != tasks[i].Record.Id)
            {
                if (at < tasks[i].KeyNotBefore)
                {
                    takeOver.Add(i);
                }
                else
                {
                    held.Add((i, taskId));
                }
            }
        }

        if (held.Count > 0)
        {
            var stored = await ReadAsync(connection, held.Select(h => h.Holder).Distinct().ToArray(), cancellationToken);
            foreach (var (i, holder) in held)
            {
                if (stored.TryGetValue(holder, out var existing))
                {
                    results[i] = new AddedTask(existing, Existing: true);
                }
                else
                {
                    // Claimed but never stored (by an older version, which claimed before it stored): the key is free.
                    takeOver.Add(i);
                }
            }
        }

        if (takeOver.Count > 0)
        {
            await using var update = new NpgsqlCommand(
                "UPDATE stevedore_idempotency AS i SET task_id = c.task_id, claimed_at = c.claimed_at " +
                "FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[]) AS c(job, key, task_id, claimed_at) " +
                "WHERE i.job = c.job AND i.key = c.key", connection);
            Bind(update.Parameters, tasks, takeOver);
            await update.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    private static void Bind(NpgsqlParameterCollection parameters, IReadOnlyList<NewTask> tasks, List<int> which)
    {
        parameters.AddWithValue(which.Select(i => tasks[i].Record.Job).ToArray());
        parameters.AddWithValue(which.Select(i => tasks[i].Record.IdempotencyKey!).ToArray());
        parameters.AddWithValue(which.Select(i => tasks[i].Record.Id).ToArray());
        parameters.AddWithValue(which.Select(i => tasks[i].Record.CreatedAt.UtcDateTime).ToArray());
    }

    private static async Task<Dictionary<string, TaskRecord>> ReadAsync(NpgsqlConnection connection, string[] ids, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT id, record FROM stevedore_tasks WHERE id = ANY($1)", connection);
        command.Parameters.AddWithValue(ids);
        var found = new Dictionary<string, TaskRecord>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            found[reader.GetString(0)] = StoreJson.Deserialize<TaskRecord>(reader.GetString(1));
        }

        return found;
    }
}

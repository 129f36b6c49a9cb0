using Npgsql;

namespace Stevedore.Storage.Postgres;

/// <summary>
/// New tasks: record, payload and idempotency claim in one transaction. Concurrent single enqueues are coalesced, so
/// under load one commit stores many requests' tasks; without idempotency keys that is one round trip.
/// </summary>
public sealed class PostgresTaskIntake : ITaskIntake
{
    private readonly NpgsqlDataSource db;
    private readonly Batcher<NewTask, AddedTask> _singles;

    public PostgresTaskIntake(NpgsqlDataSource db)
    {
        this.db = db;
        _singles = new(tasks => StoreAsync(tasks, CancellationToken.None));
    }

    public Task<AddedTask> AddAsync(NewTask task, CancellationToken cancellationToken = default) => _singles.RunAsync(task);

    public async Task<IReadOnlyList<AddedTask>> AddManyAsync(IReadOnlyList<NewTask> tasks, CancellationToken cancellationToken = default) =>
        tasks.Count == 0 ? [] : await Transient.RetryAsync(() => StoreAsync(tasks, cancellationToken));

    private async Task<IReadOnlyList<AddedTask>> StoreAsync(IReadOnlyList<NewTask> tasks, CancellationToken cancellationToken)
    {
        // The first task with a given key claims it; later ones in the same call answer with whatever the first gets.
        var first = new Dictionary<(string Job, string Key), int>();
        var sameAs = new int[tasks.Count];
        for (var i = 0; i < tasks.Count; i++)
        {
            sameAs[i] = -1;
            if (tasks[i].Record.IdempotencyKey is { } key && !first.TryAdd((tasks[i].Record.Job, key), i))
            {
                sameAs[i] = first[(tasks[i].Record.Job, key)];
            }
        }

        var results = new AddedTask?[tasks.Count];
        if (first.Count == 0)
        {
            // No key to claim: both inserts in one batch, which runs as one implicit transaction.
            await using var batch = db.CreateBatch();
            AddInserts(batch, tasks);
            await batch.ExecuteNonQueryAsync(cancellationToken);
        }
        else
        {
            await using var connection = await db.OpenConnectionAsync(cancellationToken);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await IdempotencyClaims.ClaimAsync(connection, tasks, first.Values, results, cancellationToken);
            var fresh = Enumerable.Range(0, tasks.Count).Where(i => results[i] is null && sameAs[i] < 0).Select(i => tasks[i]).ToList();
            if (fresh.Count > 0)
            {
                await using var batch = new NpgsqlBatch(connection, transaction);
                AddInserts(batch, fresh);
                await batch.ExecuteNonQueryAsync(cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
        }

        var added = new AddedTask[tasks.Count];
        for (var i = 0; i < tasks.Count; i++)
        {
            added[i] = sameAs[i] >= 0
                ? (results[sameAs[i]] ?? new AddedTask(tasks[sameAs[i]].Record, false)) with { Existing = true }
                : results[i] ?? new AddedTask(tasks[i].Record, Existing: false);
        }

        return added;
    }

    private static void AddInserts(NpgsqlBatch batch, IReadOnlyList<NewTask> tasks)
    {
        // The payloads first, as everywhere a task becomes visible: a reader that sees the task finds its payload. An
        // empty payload is not stored: a payload that is not there reads as empty, and the record says it has none
        // (PayloadBytes), so its attempts do not read it either.
        var withPayload = tasks.Where(t => t.Payload.Length > 0).ToList();
        if (withPayload.Count > 0)
        {
            var payloads = new NpgsqlBatchCommand(PostgresTaskContentStore.PutPayloadsSql);
            payloads.Parameters.AddWithValue(withPayload.Select(t => t.Record.Id).ToArray());
            payloads.Parameters.AddWithValue(withPayload.Select(t => t.Payload.ToArray()).ToArray());
            batch.BatchCommands.Add(payloads);
        }

        var records = new NpgsqlBatchCommand(PostgresTaskStore.InsertSql);
        PostgresTaskStore.BindInsert(records.Parameters, tasks.Select(t => t.Record).ToList());
        batch.BatchCommands.Add(records);
    }
}

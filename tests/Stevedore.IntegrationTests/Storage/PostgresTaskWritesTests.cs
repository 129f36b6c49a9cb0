using Npgsql;
using Stevedore.Storage.Postgres;

namespace Stevedore.IntegrationTests.Storage;

/// <summary>The writes every task makes on its way (its insert, its start, its end), on PostgreSQL.</summary>
public class PostgresTaskWritesTests
{
    private static readonly DateTimeOffset s_now = new(2026, 3, 4, 5, 6, 7, TimeSpan.Zero);

    /// <summary>
    /// They run as prepared statements whatever the batch holds: sent with other parameter types than a statement was
    /// prepared with, the driver sends it unprepared, and the server parses and plans it again on every call.
    /// </summary>
    [Fact]
    public async Task TaskWrites_RunPrepared_WhetherTheirTimesAreSetOrNot()
    {
        await using var db = new TestDatabase();
        await db.InitializeAsync();
        // One connection, preparing as the host's connections do: what it has prepared is what the store ran on it.
        var connectionString = new NpgsqlConnectionStringBuilder(db.ConnectionString) { MaxPoolSize = 1, MaxAutoPrepare = 64, AutoPrepareMinUsages = 2 };
        await using var source = NpgsqlDataSource.Create(connectionString.ConnectionString);
        var store = new PostgresTaskStore(source);

        const int tasks = 6;
        for (var i = 0; i < tasks; i++)
        {
            // Every other task runs later (a time in run_after); a start sets a lease, an end a finish time.
            var task = new TaskRecord
            {
                Id = TaskIds.New(s_now), Job = "prepared", CreatedAt = s_now, MaxAttempts = 1,
                RunAfter = i % 2 == 0 ? null : s_now.AddMinutes(1),
            };
            await store.InsertAsync([task]);
            await store.UpdateAsync(task with { Status = TaskRunStatus.Running, Attempt = 1 }, s_now.AddMinutes(5));
            await store.UpdateAsync(task with { Status = TaskRunStatus.Succeeded, Attempt = 1, FinishedAt = s_now.AddMinutes(2) });
        }

        var runs = new Dictionary<string, long>(StringComparer.Ordinal);
        await using (var command = source.CreateCommand("SELECT statement, generic_plans + custom_plans FROM pg_prepared_statements"))
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                runs[reader.GetString(0)] = reader.GetInt64(1);
            }
        }

        // The driver prepares a statement on its second use; every use from then on runs it prepared.
        var inserts = runs.Where(r => r.Key.StartsWith("INSERT INTO stevedore_tasks", StringComparison.Ordinal)).ToList();
        var updates = runs.Where(r => r.Key.StartsWith("UPDATE stevedore_tasks AS t SET status", StringComparison.Ordinal)).ToList();
        Assert.True(inserts.Count == 1 && inserts[0].Value == tasks - 1, $"inserts prepared: {string.Join(", ", inserts.Select(r => r.Value))}");
        Assert.True(updates.Count == 1 && updates[0].Value == (2 * tasks) - 1, $"updates prepared: {string.Join(", ", updates.Select(r => r.Value))}");
    }

    /// <summary>
    /// Two silos' batches of the same tasks, written at once in opposite orders, lock their rows in one order: no
    /// deadlock (which the server would undo and the batch retry, a second later, but which must not happen).
    /// </summary>
    [Fact]
    public async Task TwoSilosWritingTheSameTasks_InOppositeOrders_NeverDeadlock()
    {
        await using var db = new TestDatabase();
        await db.InitializeAsync();
        var tasks = Enumerable.Range(0, 300).Select(_ => new TaskRecord { Id = TaskIds.New(s_now), Job = "crossed", CreatedAt = s_now, MaxAttempts = 9 }).ToList();
        const string application = "crossed-writes";
        await using (var source = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(db.ConnectionString) { ApplicationName = application }.ConnectionString))
        {
            // A store each, as two silos have: each coalesces its writes into statements of its own.
            var one = new PostgresTaskStore(source);
            var other = new PostgresTaskStore(source);
            Assert.Empty(await one.InsertAsync(tasks));
            for (var round = 1; round <= 5; round++)
            {
                var attempt = round;
                await Task.WhenAll(
                    tasks.Select(t => one.UpdateAsync(t with { Status = TaskRunStatus.Running, Attempt = attempt }, s_now.AddMinutes(5)))
                        .Concat(Enumerable.Reverse(tasks).Select(t => other.UpdateAsync(t with { Status = TaskRunStatus.Queued, Attempt = attempt }))));
            }

            Assert.All(await Task.WhenAll(tasks.Select(t => one.GetAsync(t.Id))), t => Assert.Equal(5, t!.Attempt));
        }

        // A server process reports its deadlocks when it ends at the latest: wait for those of these writes to end.
        await using var server = NpgsqlDataSource.Create(TestDatabase.ServerConnectionString);
        await Wait.UntilAsync(async () =>
        {
            await using var left = server.CreateCommand("SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND application_name = $2");
            left.Parameters.AddWithValue(db.Name);
            left.Parameters.AddWithValue(application);
            return (long)(await left.ExecuteScalarAsync())! == 0;
        }, $"the connections of the writes to {db.Name} to close");
        await using var deadlocks = server.CreateCommand("SELECT deadlocks FROM pg_stat_database WHERE datname = $1");
        deadlocks.Parameters.AddWithValue(db.Name);
        Assert.Equal(0L, (long)(await deadlocks.ExecuteScalarAsync())!);
    }
}

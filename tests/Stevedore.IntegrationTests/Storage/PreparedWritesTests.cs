using Npgsql;
using Stevedore.Storage.Postgres;

namespace Stevedore.IntegrationTests.Storage;

/// <summary>
/// The writes every task makes on its way (its insert, its start, its end) run as prepared statements, whatever the
/// batch holds: sent with other parameter types than a statement was prepared with, the driver sends it unprepared,
/// and the server parses and plans it again on every call.
/// </summary>
public class PreparedWritesTests
{
    private static readonly DateTimeOffset s_now = new(2026, 3, 4, 5, 6, 7, TimeSpan.Zero);

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
        var updates = runs.Where(r => r.Key.StartsWith("WITH u AS", StringComparison.Ordinal)).ToList();
        Assert.True(inserts.Count == 1 && inserts[0].Value == tasks - 1, $"inserts prepared: {string.Join(", ", inserts.Select(r => r.Value))}");
        Assert.True(updates.Count == 1 && updates[0].Value == (2 * tasks) - 1, $"updates prepared: {string.Join(", ", updates.Select(r => r.Value))}");
    }
}

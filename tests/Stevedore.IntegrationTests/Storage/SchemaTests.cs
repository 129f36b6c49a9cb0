using Npgsql;
using Stevedore.Storage.Postgres;

namespace Stevedore.IntegrationTests.Storage;

public sealed class EmptyDatabase : IAsyncLifetime
{
    public TestDatabase Db { get; } = new() { Migrate = false };
    public Task InitializeAsync() => Db.InitializeAsync();
    public Task DisposeAsync() => Db.DisposeAsync();
}

public class SchemaTests(EmptyDatabase empty) : IClassFixture<EmptyDatabase>
{
    [Fact]
    public async Task Migrate_OnAFreshDatabase_ThenAgain_IsHarmless_AndTheCheckPasses()
    {
        var db = empty.Db.DataSource;
        var problem = await PostgresSchema.CheckAsync(db);
        Assert.Contains("migrate", problem);

        Assert.Equal(PostgresSchema.CurrentVersion, await PostgresSchema.MigrateAsync(db));
        Assert.Equal(PostgresSchema.CurrentVersion, await PostgresSchema.MigrateAsync(db));
        Assert.Null(await PostgresSchema.CheckAsync(db));

        await using var command = db.CreateCommand(
            "SELECT count(*) FROM OrleansQuery WHERE QueryKey IN ('UpdateIAmAlivetimeKey','InsertMembershipKey','WriteToStorageKey','ReadFromStorageKey','UpsertReminderRowKey','ReadRangeRows1Key')");
        Assert.Equal(6L, await command.ExecuteScalarAsync());
        await using var versions = db.CreateCommand("SELECT count(*) FROM stevedore_schema");
        Assert.Equal((long)PostgresSchema.CurrentVersion, await versions.ExecuteScalarAsync());
    }

    [Fact]
    public async Task Migrate_RunConcurrently_AppliesOnce()
    {
        await using var other = new TestDatabase { Migrate = false };
        await other.InitializeAsync();

        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => PostgresSchema.MigrateAsync(other.DataSource)));

        Assert.Null(await PostgresSchema.CheckAsync(other.DataSource));
    }

    [Fact]
    public async Task CountsPerJobAndStatus_AreReadFromAnIndexAlone_AndLabelFilters_UseTheIndexOfLabelledTasks()
    {
        await using var db = new TestDatabase();
        await db.InitializeAsync();
        await using (var fill = db.DataSource.CreateCommand(
            "INSERT INTO stevedore_tasks (id, job, status, partition, priority, labels, record) " +
            "SELECT lpad(to_hex(i), 32, '0'), 'job-' || (i % 7), (i % 5)::smallint, 0, 0, " +
            "CASE WHEN i % 100 = 0 THEN jsonb_build_object('order', i::text) ELSE '{}'::jsonb END, " +
            // A record about the size of a real one: the table is much larger than its indexes.
            "jsonb_build_object('pad', repeat('x', 500)) FROM generate_series(1, 20000) i"))
        {
            await fill.ExecuteNonQueryAsync();
        }

        await using (var analyze = db.DataSource.CreateCommand("VACUUM ANALYZE stevedore_tasks"))
        {
            await analyze.ExecuteNonQueryAsync();
        }

        var counts = await PlanAsync(db, "SELECT job, status, count(*) FROM stevedore_tasks GROUP BY job, status");
        Assert.Contains(counts, line => line.Contains("Index Only Scan using stevedore_tasks_by_job on", StringComparison.Ordinal));

        // The store's label filter, as it writes it: the index holds only the labelled tasks.
        var labelled = await PlanAsync(db, "SELECT id FROM stevedore_tasks WHERE labels @> '{\"order\": \"500\"}' AND labels <> '{}'::jsonb");
        Assert.Contains(labelled, line => line.Contains("Bitmap Index Scan on stevedore_tasks_by_label", StringComparison.Ordinal));
    }

    private static async Task<List<string>> PlanAsync(TestDatabase db, string sql)
    {
        await using var explain = db.DataSource.CreateCommand("EXPLAIN " + sql);
        var plan = new List<string>();
        await using var reader = await explain.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            plan.Add(reader.GetString(0));
        }

        return plan;
    }
}

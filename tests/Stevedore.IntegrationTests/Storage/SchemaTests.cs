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
}

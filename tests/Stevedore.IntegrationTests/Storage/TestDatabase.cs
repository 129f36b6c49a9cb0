using Npgsql;
using Stevedore.Storage.Postgres;

namespace Stevedore.IntegrationTests.Storage;

/// <summary>A fresh database on the test PostgreSQL (started by scripts/test), dropped at the end.</summary>
public sealed class TestDatabase : IAsyncLifetime, IAsyncDisposable
{
    public static string ServerConnectionString =>
        Environment.GetEnvironmentVariable("STEVEDORE_TEST_POSTGRES") ?? "Host=127.0.0.1;Port=55433;Username=postgres";

    public string Name { get; } = "st_" + Guid.NewGuid().ToString("N")[..12];

    public string ConnectionString => new NpgsqlConnectionStringBuilder(ServerConnectionString) { Database = Name }.ConnectionString;

    public NpgsqlDataSource DataSource { get; private set; } = null!;

    public bool Migrate { get; init; } = true;

    public async Task InitializeAsync()
    {
        await Scripts.RunAsync("ensure_postgres");
        await using (var server = NpgsqlDataSource.Create(ServerConnectionString))
        {
            await using var create = server.CreateCommand($"CREATE DATABASE {Name}");
            await create.ExecuteNonQueryAsync();
        }

        DataSource = NpgsqlDataSource.Create(ConnectionString);
        if (Migrate)
        {
            await PostgresSchema.MigrateAsync(DataSource);
        }
    }

    async ValueTask IAsyncDisposable.DisposeAsync() => await DisposeAsync();

    public async Task DisposeAsync()
    {
        await DataSource.DisposeAsync();
        NpgsqlConnection.ClearAllPools();
        await using var server = NpgsqlDataSource.Create(ServerConnectionString);
        await using var drop = server.CreateCommand($"DROP DATABASE IF EXISTS {Name} WITH (FORCE)");
        await drop.ExecuteNonQueryAsync();
    }
}

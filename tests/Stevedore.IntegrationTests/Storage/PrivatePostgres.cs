using Npgsql;
using Stevedore.Storage.Postgres;

namespace Stevedore.IntegrationTests.Storage;

/// <summary>
/// A PostgreSQL server of the test's own, on a free port, that the test may stop and start again (the shared test
/// server is never touched). Its data is removed at the end.
/// </summary>
public sealed class PrivatePostgres : IAsyncDisposable
{
    private PrivatePostgres(int port) => Port = port;

    public int Port { get; }

    public string ServerConnectionString => $"Host=127.0.0.1;Port={Port};Username=postgres";

    public static async Task<PrivatePostgres> StartAsync()
    {
        var server = new PrivatePostgres(Names.FreePort());
        await server.StartAgainAsync();
        return server;
    }

    /// <summary>A new database with Stevedore's schema; returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        var name = "st_" + Guid.NewGuid().ToString("N")[..12];
        await using (var admin = NpgsqlDataSource.Create(ServerConnectionString))
        {
            await using var create = admin.CreateCommand($"CREATE DATABASE {name}");
            await create.ExecuteNonQueryAsync();
        }

        var connectionString = $"{ServerConnectionString};Database={name}";
        await using (var data = NpgsqlDataSource.Create(connectionString))
        {
            await PostgresSchema.MigrateAsync(data);
        }

        NpgsqlConnection.ClearAllPools();
        return connectionString;
    }

    /// <summary>A fast shutdown, as `pg_ctl restart` does: open connections end with 57P01.</summary>
    public Task StopAsync() => Scripts.RunAsync($"pg_instance stop {Port}");

    public Task StartAgainAsync() => Scripts.RunAsync($"pg_instance start {Port}");

    public async ValueTask DisposeAsync() =>
        await Scripts.RunAsync($"pg_instance stop {Port} >/dev/null 2>&1 || true; rm -rf \"$STEVEDORE_STATE/pg-{Port}\"");
}

using System.Globalization;
using Npgsql;
using Stevedore.Storage.Postgres;

namespace Stevedore.IntegrationTests;

/// <summary>
/// A PostgreSQL server of a test's own (scripts/lib.sh <c>pg_instance</c>) on a port no other test uses, for tests
/// that stop the database: the shared test server is never stopped. Disposing stops it and deletes its data.
/// </summary>
public sealed class OwnPostgres : IAsyncDisposable
{
    private readonly IDictionary<string, string>? _environment;
    private readonly string? _workingDirectory;
    private bool _created;

    /// <param name="workingDirectory">The folder the scripts run from (default: the repository).</param>
    /// <param name="environment">Extra environment for the scripts (e.g. <c>STEVEDORE_STATE</c>).</param>
    public OwnPostgres(string? workingDirectory = null, IDictionary<string, string>? environment = null)
    {
        _workingDirectory = workingDirectory;
        _environment = environment;
    }

    public int Port { get; } = Names.FreePort();

    /// <summary>The server, no database named.</summary>
    public string ConnectionString => $"Host=127.0.0.1;Port={Port.ToString(CultureInfo.InvariantCulture)};Username=postgres";

    public async Task StartAsync()
    {
        _created = true;
        await RunAsync("start");
    }

    public Task StopAsync() => RunAsync("stop");

    /// <summary>Creates a database with the current schema; returns its connection string. It goes with the server.</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        var name = "own_" + Guid.NewGuid().ToString("N")[..12];
        await using (var server = NpgsqlDataSource.Create(ConnectionString))
        {
            await using var create = server.CreateCommand($"CREATE DATABASE {name}");
            await create.ExecuteNonQueryAsync();
        }

        var connectionString = new NpgsqlConnectionStringBuilder(ConnectionString) { Database = name, Pooling = false }.ConnectionString;
        await using var database = NpgsqlDataSource.Create(connectionString);
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await PostgresSchema.MigrateAsync(database, timeout.Token);
        return new NpgsqlConnectionStringBuilder(connectionString) { Pooling = true }.ConnectionString;
    }

    public async ValueTask DisposeAsync()
    {
        if (_created)
        {
            _created = false;
            await RunAsync("destroy");
        }
    }

    private Task<string> RunAsync(string action) =>
        Scripts.RunAsync($"pg_instance {action} {Port.ToString(CultureInfo.InvariantCulture)}", _workingDirectory, _environment);
}

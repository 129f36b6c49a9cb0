using Npgsql;
using Stevedore.Storage.Postgres;

namespace Stevedore.IntegrationTests.Storage;

/// <summary>
/// A fresh database on the shared test PostgreSQL (scripts/test starts it), dropped at the end — also
/// when the test or its own start failed. Disposing twice is harmless.
/// </summary>
public sealed class TestDatabase : IAsyncLifetime, IAsyncDisposable
{
    private readonly string _server = ServerConnectionString;
    private NpgsqlDataSource? _dataSource;

    public static string ServerConnectionString =>
        Environment.GetEnvironmentVariable("STEVEDORE_TEST_POSTGRES") ?? "Host=127.0.0.1;Port=55433;Username=postgres";

    public string Name { get; } = "st_" + Guid.NewGuid().ToString("N")[..12];

    public string ConnectionString => new NpgsqlConnectionStringBuilder(_server) { Database = Name }.ConnectionString;

    public NpgsqlDataSource DataSource => _dataSource ?? throw new InvalidOperationException($"Database {Name} was not created.");

    public bool Migrate { get; init; } = true;

    public async Task InitializeAsync()
    {
        await Scripts.RunAsync("ensure_postgres");

        await using (var server = NpgsqlDataSource.Create(_server))
        {
            await using var create = server.CreateCommand($"CREATE DATABASE {Name}");
            await create.ExecuteNonQueryAsync();
        }

        _dataSource = NpgsqlDataSource.Create(ConnectionString);
        if (Migrate)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            await PostgresSchema.MigrateAsync(_dataSource, timeout.Token);
        }
    }

    async ValueTask IAsyncDisposable.DisposeAsync() => await DisposeAsync();

    public async Task DisposeAsync()
    {
        if (_dataSource is { } dataSource)
        {
            _dataSource = null;
            await dataSource.DisposeAsync();
        }

        NpgsqlConnection.ClearAllPools();
        await using var server = NpgsqlDataSource.Create(_server);
        await using var drop = server.CreateCommand($"DROP DATABASE IF EXISTS {Name} WITH (FORCE)");
        await drop.ExecuteNonQueryAsync();
    }
}

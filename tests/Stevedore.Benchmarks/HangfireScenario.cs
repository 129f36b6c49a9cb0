using System.Collections.Concurrent;
using System.Diagnostics;
using Hangfire;
using Hangfire.PostgreSql;
using Hangfire.PostgreSql.Factories;
using Npgsql;

namespace Stevedore.Benchmarks;

/// <summary>
/// The peer baseline: Hangfire with Hangfire.PostgreSql on the same PostgreSQL, no-op jobs, enqueued one per call
/// (Hangfire has no batch enqueue) from <see cref="Lifecycle.Callers"/> callers. Its clock stops when the database
/// shows every job's final state written (<c>Succeeded</c>), the same condition Stevedore's clock stops on. Its
/// connections prepare statements as Stevedore's do by default.
/// </summary>
public sealed class HangfireContender : IAsyncDisposable
{
    private readonly NpgsqlDataSource _db;
    private readonly PostgreSqlStorage _storage;
    private readonly BackgroundJobClient _client;
    private readonly int? _workers;

    private HangfireContender(string name, string connectionString, PostgreSqlStorageOptions options, int? workers)
    {
        Name = name;
        // The prepared statements Stevedore's connections get by default, so neither side parses and plans every call.
        connectionString = new NpgsqlConnectionStringBuilder(connectionString) { MaxAutoPrepare = 64, AutoPrepareMinUsages = 2 }.ConnectionString;
        _db = NpgsqlDataSource.Create(connectionString);
        _storage = new PostgreSqlStorage(new NpgsqlConnectionFactory(connectionString, options), options);
        _client = new BackgroundJobClient(_storage);
        _workers = workers;
    }

    public string Name { get; }

    /// <summary>Hangfire's defaults.</summary>
    public static async Task<HangfireContender> DefaultsAsync() =>
        new("default", await BenchEnvironment.FreshDatabaseAsync("bench_hangfire"), new PostgreSqlStorageOptions { PrepareSchemaIfNecessary = true }, null);

    /// <summary>Tuned for latency: 1 ms queue polling, long polling (LISTEN/NOTIFY), 64 workers.</summary>
    public static async Task<HangfireContender> FastAsync() =>
        new("fast", await BenchEnvironment.FreshDatabaseAsync("bench_hangfire"), new PostgreSqlStorageOptions
        {
            PrepareSchemaIfNecessary = true,
            AllowUnsafeValues = true, // before QueuePollInterval: its setter checks it
            QueuePollInterval = TimeSpan.FromMilliseconds(1),
            EnableLongPolling = true,
        }, 64);

    /// <summary>
    /// One measurement: starts a server (and waits for it to run a first job, outside the clock), enqueues
    /// <paramref name="n"/> jobs, stops the clock when all are stored as succeeded, stops the server. A server per
    /// round, so a polling Hangfire takes no CPU from the other contenders' rounds.
    /// </summary>
    public async Task<double> RunAsync(int n)
    {
        var serverOptions = new BackgroundJobServerOptions { ServerName = $"bench-{Name}-{Guid.NewGuid():N}" };
        if (_workers is { } workers)
        {
            serverOptions.WorkerCount = workers;
        }

        using var server = new BackgroundJobServer(serverOptions, _storage);
        var probe = await LastJobIdAsync();
        _client.Enqueue(() => NoopJobs.Run(0));
        await Lifecycle.WaitFinishedAsync(Counter(probe), 1, "Hangfire probe jobs");

        var first = await LastJobIdAsync();
        BenchEnvironment.Quiesce();
        var sw = Stopwatch.StartNew();
        await Lifecycle.FromCallersAsync(n, () =>
        {
            _client.Enqueue(() => NoopJobs.Run(0));
            return Task.CompletedTask;
        });
        await Lifecycle.WaitFinishedAsync(Counter(first), n, "Hangfire jobs");
        var rate = n / sw.Elapsed.TotalSeconds;
        server.SendStop();
        return rate;
    }

    /// <summary>Enqueue → the job method runs, one job at a time, with a server that has run one already.</summary>
    public async Task<List<double>> StartLatenciesAsync(int samples)
    {
        using var server = new BackgroundJobServer(new BackgroundJobServerOptions { ServerName = $"bench-{Name}-latency", WorkerCount = _workers ?? Environment.ProcessorCount * 5 }, _storage);
        var latencies = new List<double>();
        for (var i = -1; i < samples; i++)
        {
            NoopJobs.Reset();
            _client.Enqueue(() => NoopJobs.Run(Stopwatch.GetTimestamp()));
            await NoopJobs.WaitForLatencyAsync(TimeSpan.FromMinutes(1));
            if (i >= 0)
            {
                latencies.Add(NoopJobs.Latencies.Single());
            }
        }

        server.SendStop();
        return latencies;
    }

    private async Task<long> LastJobIdAsync()
    {
        await using var command = _db.CreateCommand("SELECT coalesce(max(id), 0) FROM hangfire.job");
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Jobs after <paramref name="after"/> in a final state, and how many of them succeeded.</summary>
    private Lifecycle.Counter Counter(long after) => async () =>
    {
        await using var command = _db.CreateCommand(
            "SELECT count(*) FILTER (WHERE statename IN ('Succeeded', 'Failed', 'Deleted')), count(*) FILTER (WHERE statename = 'Succeeded') " +
            "FROM hangfire.job WHERE id > $1");
        command.Parameters.AddWithValue(after);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.GetInt64(0), reader.GetInt64(1));
    };

    public async ValueTask DisposeAsync() => await _db.DisposeAsync();
}

/// <summary>The job Hangfire runs: does nothing, or notes how long after enqueue it started.</summary>
public static class NoopJobs
{
    public static ConcurrentBag<double> Latencies { get; private set; } = [];

    public static void Reset() => Latencies = [];

    public static void Run(long enqueuedAt)
    {
        if (enqueuedAt != 0)
        {
            Latencies.Add(Stopwatch.GetElapsedTime(enqueuedAt).TotalMilliseconds);
        }
    }

    public static async Task WaitForLatencyAsync(TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        while (Latencies.IsEmpty)
        {
            if (sw.Elapsed > timeout)
            {
                throw new TimeoutException($"Hangfire ran no job in {timeout}");
            }

            await Task.Delay(1);
        }
    }
}

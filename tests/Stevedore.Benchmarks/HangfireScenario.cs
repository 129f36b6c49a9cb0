using System.Collections.Concurrent;
using System.Diagnostics;
using Hangfire;
using Hangfire.PostgreSql;
using Hangfire.PostgreSql.Factories;
using Hangfire.Storage;

namespace Stevedore.Benchmarks;

/// <summary>The peer baseline: Hangfire with Hangfire.PostgreSql on the same PostgreSQL, no-op jobs.</summary>
public static class HangfireScenario
{
    public static async Task RunAsync(bool quick)
    {
        var n = quick ? 300 : 3000;
        var defaults = await MeasureAsync("default", n, new PostgreSqlStorageOptions { PrepareSchemaIfNecessary = true }, workers: null, latencySamples: quick ? 0 : 5);
        var fast = await MeasureAsync("fast", n, new PostgreSqlStorageOptions
        {
            PrepareSchemaIfNecessary = true,
            AllowUnsafeValues = true, // before QueuePollInterval: its setter checks it
            QueuePollInterval = TimeSpan.FromMilliseconds(1),
            EnableLongPolling = true,
        }, workers: 64, latencySamples: quick ? 20 : 100);

        Report.Figure("hangfire.jobs_per_s", Math.Max(defaults.Rate, fast.Rate));
        // The better of the two configurations (defaults are only sampled in the full run: they may poll slowly).
        Report.Figure("hangfire.start_latency_p50_ms", double.IsNaN(defaults.LatencyP50) ? fast.LatencyP50 : Math.Min(defaults.LatencyP50, fast.LatencyP50));
        if (Report.Get("control.postgres.tasks_per_s") is { } ours)
        {
            Report.Figure("control.postgres_vs_hangfire", ours / Math.Max(defaults.Rate, fast.Rate));
        }

        Report.Note("hangfire: default = its defaults; fast = QueuePollInterval 1 ms, long polling, 64 workers; best of both is hangfire.jobs_per_s");
    }

    private static async Task<(double Rate, double LatencyP50)> MeasureAsync(string name, int n, PostgreSqlStorageOptions options, int? workers, int latencySamples)
    {
        var cs = await BenchEnvironment.FreshDatabaseAsync("bench_hangfire");
        var storage = new PostgreSqlStorage(new NpgsqlConnectionFactory(cs, options), options);
        var client = new BackgroundJobClient(storage);
        var serverOptions = new BackgroundJobServerOptions { ServerName = $"bench-{name}" };
        if (workers is { } w)
        {
            serverOptions.WorkerCount = w;
        }

        NoopJobs.Reset();
        using var server = new BackgroundJobServer(serverOptions, storage);
        // Warm-up: the schema exists and the server polls.
        client.Enqueue(() => NoopJobs.Run(0));
        await NoopJobs.WaitForCountAsync(1, TimeSpan.FromMinutes(2));

        NoopJobs.Reset();
        var sw = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, n), new ParallelOptions { MaxDegreeOfParallelism = 8 }, (_, _) =>
        {
            client.Enqueue(() => NoopJobs.Run(0));
            return ValueTask.CompletedTask;
        });
        await NoopJobs.WaitForCountAsync(n, TimeSpan.FromMinutes(10));
        var rate = n / sw.Elapsed.TotalSeconds;
        Report.Figure($"hangfire.{name}.jobs_per_s", rate);

        var latencies = new List<double>();
        for (var i = 0; i < latencySamples; i++)
        {
            NoopJobs.Reset();
            client.Enqueue(() => NoopJobs.Run(Stopwatch.GetTimestamp()));
            await NoopJobs.WaitForCountAsync(1, TimeSpan.FromMinutes(1));
            latencies.Add(NoopJobs.Latencies.Single());
        }

        var p50 = latencies.Count > 0 ? Report.Percentile(latencies, 0.5) : double.NaN;
        if (latencies.Count > 0)
        {
            Report.Figure($"hangfire.{name}.start_latency_p50_ms", p50);
        }

        server.SendStop();
        return (rate, p50);
    }
}

/// <summary>The job Hangfire runs: counts itself and notes how long after enqueue it started.</summary>
public static class NoopJobs
{
    private static int s_count;
    public static ConcurrentBag<double> Latencies { get; private set; } = [];

    public static void Reset()
    {
        Interlocked.Exchange(ref s_count, 0);
        Latencies = [];
    }

    public static void Run(long enqueuedAt)
    {
        if (enqueuedAt != 0)
        {
            Latencies.Add(Stopwatch.GetElapsedTime(enqueuedAt).TotalMilliseconds);
        }

        Interlocked.Increment(ref s_count);
    }

    public static async Task WaitForCountAsync(int n, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        while (Volatile.Read(ref s_count) < n)
        {
            if (sw.Elapsed > timeout)
            {
                throw new TimeoutException($"Hangfire ran {s_count} of {n} jobs in {timeout}");
            }

            await Task.Delay(5);
        }
    }
}

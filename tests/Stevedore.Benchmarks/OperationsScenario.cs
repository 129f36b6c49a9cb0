using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;
using Stevedore.Application;
using Stevedore.Grains.Retention;
using Stevedore.Options;
using Stevedore.Storage;

namespace Stevedore.Benchmarks;

/// <summary>
/// What running Stevedore for months costs the work itself, on PostgreSQL (fsync on) with the fake driver:
/// <list type="bullet">
/// <item>the retention janitor deleting old finished tasks while single enqueues come in, against rounds without it;</item>
/// <item>a scrape of <c>/metrics</c> and a console page every second while single enqueues come in, against rounds without;</item>
/// <item>table size and process memory over a continuous load with a short retention (<see cref="SteadyStateAsync"/>).</item>
/// </list>
/// Rounds are time-boxed: <see cref="Lifecycle.Callers"/> callers enqueue one task per call for a fixed time while the
/// tasks run; the figure is enqueues per second. Each round has a job of its own and ends when its tasks have finished
/// (outside the clock), so no round leaves work to the next.
/// </summary>
public static class OperationsScenario
{
    /// <summary>Retention of the tasks the janitor deletes in the janitor rounds, and how far back they are dated.</summary>
    private static readonly TimeSpan s_oldRetention = TimeSpan.FromDays(1);

    public static async Task RunAsync(bool quick)
    {
        var rounds = quick ? 2 : 5;
        var roundTime = TimeSpan.FromSeconds(quick ? 0.4 : 6);
        var cs = await BenchEnvironment.FreshDatabaseAsync("bench_ops");
        await using var app = await ControlPlaneScenarios.StartFakeHostAsync(new() { ["Stevedore:Storage"] = "Postgres", ["ConnectionStrings:Postgres"] = cs });
        var load = new Load(app);
        await load.EnqueueForAsync("warm", roundTime, alongside: null);

        await JanitorAsync(app, load, cs, rounds, roundTime, quick);
        await ScrapesAsync(app, load, rounds, roundTime);
        if (quick)
        {
            // Minutes of real retention do not fit the quick run: the same sweeper, driven twice a second over a
            // retention of one second, on this host.
            await SteadyStateAsync(app, cs, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1.5), rate: 200, DrivenJanitor(app, TimeSpan.FromSeconds(1)));
        }

        await app.StopAsync();
        if (!quick)
        {
            await SteadyStateWithTheJanitorAsync();
        }
    }

    /// <summary>(a) Enqueue rate while the janitor deletes a backlog of old finished tasks, against rounds without it.</summary>
    private static async Task JanitorAsync(WebApplication app, Load load, string cs, int rounds, TimeSpan roundTime, bool quick)
    {
        // The backlog: finished tasks dated back past the janitor's retention, enough to keep it deleting through every
        // round. Made by running a template of real tasks through the lifecycle, then copied row by row in SQL (with
        // payloads and logs, under ids of their own), which is far quicker than running them all.
        var template = quick ? 200 : 2000;
        var copies = quick ? 10 : 100;
        var jobs = app.Services.GetRequiredService<JobService>();
        await jobs.PutAsync("template", new JobDraft { Image = "fake/ok" });
        var payload = System.Text.Encoding.UTF8.GetBytes("{\"order\":42,\"customer\":\"acme\"}");
        await Lifecycle.FromCallersAsync(template, () => load.Tasks.EnqueueAsync("template", new TaskDraft { Payload = payload }));
        await Lifecycle.WaitFinishedAsync(Lifecycle.StoreCounter(load.Store, "template"), template, "template tasks");
        var backlog = await CopyBacklogAsync(cs, copies);

        // The janitor grain's own sweep, as its timer runs it: a batch, a pause, the next batch, with the host's stores.
        var options = new RetentionOptions { FinishedTasks = s_oldRetention };
        var sweeper = Sweeper(app, options);
        var deletedPerSecond = new List<double>();
        var results = await Interleave.RoundsAsync(rounds,
            ("off", r => load.EnqueueForAsync($"janitor-off-{r}", roundTime, alongside: null)),
            ("on", r => load.EnqueueForAsync($"janitor-on-{r}", roundTime, async stop =>
            {
                var deleted = 0;
                var clock = Stopwatch.StartNew();
                while (!stop.IsCancellationRequested)
                {
                    deleted += (await sweeper.SweepBatchAsync(CancellationToken.None)).Tasks;
                    await Pause(options.BatchPause, stop);
                }

                deletedPerSecond.Add(deleted / clock.Elapsed.TotalSeconds);
            })));

        Report.Rounds("retention.baseline.enqueue_per_s", results["off"]);
        Report.Rounds("retention.janitor.enqueue_per_s", results["on"]);
        Report.Rounds("retention.janitor.deleted_per_s", deletedPerSecond);
        Report.Rounds("retention.janitor_vs_off", Interleave.Ratios(results["on"], results["off"]));
        Report.Note($"retention: {rounds} rounds of {roundTime.TotalSeconds:0.#} s of single enqueues from {Lifecycle.Callers} callers, tasks running " +
            $"meanwhile; 'on' rounds have the janitor's sweeper deleting a backlog of {backlog} finished tasks dated past its retention (batches of " +
            $"{options.BatchSize}, {options.BatchPause.TotalMilliseconds:0} ms apart, as the janitor grain runs them); ratio per round");
        await using (var db = NpgsqlDataSource.Create(cs))
        await using (var left = db.CreateCommand("SELECT count(*) FROM stevedore_tasks WHERE job = 'old'"))
        {
            // Above zero: the janitor had something to delete until the last round ended.
            Report.Figure("retention.janitor.backlog_left", (long)(await left.ExecuteScalarAsync())!);
        }
    }

    /// <summary>Copies the finished tasks of job <c>template</c> <paramref name="copies"/> times into job <c>old</c>, finished two retentions ago.</summary>
    private static async Task<long> CopyBacklogAsync(string cs, int copies)
    {
        // A copy's id: 'f' (after every real id, which starts with the clock), the template's id digits, the copy number.
        const string CopyId = "'f' || substr(t.id, 2, 23) || lpad(to_hex(g), 8, '0')";
        await using var db = NpgsqlDataSource.Create(cs);
        await using var batch = db.CreateBatch();
        foreach (var sql in (string[])[
            "INSERT INTO stevedore_tasks (id, job, status, partition, priority, run_after, lease_until, labels, record, finished_at, queued_at) " +
            $"SELECT {CopyId}, 'old', t.status, t.partition, t.priority, t.run_after, t.lease_until, t.labels, t.record, t.finished_at - $2::interval, t.queued_at " +
            "FROM stevedore_tasks t CROSS JOIN generate_series(1, $1) g WHERE t.job = 'template'",
            $"INSERT INTO stevedore_payloads (task_id, data) SELECT {CopyId}, p.data FROM stevedore_payloads p JOIN stevedore_tasks t ON t.id = p.task_id " +
            "CROSS JOIN generate_series(1, $1) g WHERE t.job = 'template'",
            $"INSERT INTO stevedore_logs (task_id, attempt, stream, data) SELECT {CopyId}, l.attempt, l.stream, l.data FROM stevedore_logs l " +
            "JOIN stevedore_tasks t ON t.id = l.task_id CROSS JOIN generate_series(1, $1) g WHERE t.job = 'template'",
            "SELECT count(*) FROM stevedore_tasks WHERE job = 'old'",
        ])
        {
            var command = batch.CreateBatchCommand();
            command.CommandText = sql;
            if (sql.StartsWith("INSERT", StringComparison.Ordinal))
            {
                command.Parameters.AddWithValue(copies);
                if (sql.Contains("$2", StringComparison.Ordinal))
                {
                    command.Parameters.AddWithValue(2 * s_oldRetention);
                }
            }

            batch.BatchCommands.Add(command);
        }

        return (long)(await batch.ExecuteScalarAsync())!;
    }

    /// <summary>(c) Enqueue rate while a client scrapes /metrics and loads the console's jobs page every second.</summary>
    private static async Task ScrapesAsync(WebApplication app, Load load, int rounds, TimeSpan roundTime)
    {
        using var client = new HttpClient { BaseAddress = BenchEnvironment.HttpAddress(app), Timeout = TimeSpan.FromSeconds(30) };
        var metricsMs = new List<double>();
        var consoleMs = new List<double>();
        long metricsBytes = 0;
        async Task<double> GetAsync(string path)
        {
            var clock = Stopwatch.StartNew();
            var body = await client.GetByteArrayAsync(path);
            if (path == "/metrics")
            {
                metricsBytes = body.Length;
            }

            return clock.Elapsed.TotalMilliseconds;
        }

        var results = await Interleave.RoundsAsync(rounds,
            ("quiet", r => load.EnqueueForAsync($"quiet-{r}", roundTime, alongside: null)),
            ("scraped", r => load.EnqueueForAsync($"scraped-{r}", roundTime, async stop =>
            {
                while (!stop.IsCancellationRequested)
                {
                    metricsMs.Add(await GetAsync("/metrics"));
                    consoleMs.Add(await GetAsync("/console"));
                    await Pause(TimeSpan.FromSeconds(1), stop);
                }
            })));

        Report.Rounds("scrape.quiet.enqueue_per_s", results["quiet"]);
        Report.Rounds("scrape.scraped.enqueue_per_s", results["scraped"]);
        Report.Rounds("scrape.vs_quiet", Interleave.Ratios(results["scraped"], results["quiet"]));
        Report.Figure("scrape.metrics_p50_ms", Report.Percentile(metricsMs, 0.5));
        Report.Figure("scrape.console_p50_ms", Report.Percentile(consoleMs, 0.5));
        Report.Figure("scrape.metrics_kib", metricsBytes / 1024.0);
        Report.Note($"scrape: {rounds} rounds of {roundTime.TotalSeconds:0.#} s of single enqueues; 'scraped' rounds GET /metrics and then /console " +
            $"(every job with its counts per status) once a second, from the first moment of the round ({metricsMs.Count} scrapes in all)");
    }

    /// <summary>(b) The full run: the janitor grain itself, on a host whose retention is one minute (the shortest allowed).</summary>
    private static async Task SteadyStateWithTheJanitorAsync()
    {
        var cs = await BenchEnvironment.FreshDatabaseAsync("bench_steady");
        await using var app = await ControlPlaneScenarios.StartFakeHostAsync(new()
        {
            ["Stevedore:Storage"] = "Postgres",
            ["ConnectionStrings:Postgres"] = cs,
            ["Stevedore:Retention:FinishedTasks"] = "00:01:00",
            ["Stevedore:Retention:SweepInterval"] = "00:01:00",
        });
        // Rows live one retention plus up to one sweep interval: the table fills for two minutes, then saws between
        // one and two minutes of tasks. The two minutes after that are compared, first against second.
        await SteadyStateAsync(app, cs, warmUp: TimeSpan.FromMinutes(2), window: TimeSpan.FromMinutes(2), rate: 200, janitor: null);
        await app.StopAsync();
    }

    /// <summary>
    /// A continuous load at <paramref name="rate"/> tasks/s; after <paramref name="warmUp"/>, the task tables' rows and
    /// bytes and the process's managed heap (after a full collection) and RSS are sampled for <paramref name="window"/>.
    /// start = the largest sample of the window's first half, end = the largest of its second half (the janitor makes a
    /// saw-tooth; growth shows as end above start).
    /// </summary>
    private static async Task SteadyStateAsync(WebApplication app, string cs, TimeSpan warmUp, TimeSpan window, int rate, Func<CancellationToken, Task>? janitor)
    {
        var jobs = app.Services.GetRequiredService<JobService>();
        var tasks = app.Services.GetRequiredService<TaskService>();
        await jobs.PutAsync("steady", new JobDraft { Image = "fake/ok" });
        await using var db = NpgsqlDataSource.Create(cs);
        using var stop = new CancellationTokenSource();
        long enqueued = 0;
        var feeding = Task.Run(async () =>
        {
            // Every 100 ms a tenth of the rate, enqueued one task per call at once.
            using var tick = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
            try
            {
                while (await tick.WaitForNextTickAsync(stop.Token))
                {
                    var results = await Task.WhenAll(Enumerable.Range(0, rate / 10).Select(_ => tasks.EnqueueAsync("steady", new TaskDraft())));
                    Interlocked.Add(ref enqueued, results.Count(r => r.Ok));
                }
            }
            catch (OperationCanceledException)
            {
                // The window is over.
            }
        });
        var sweeping = janitor?.Invoke(stop.Token) ?? Task.CompletedTask;

        var clock = Stopwatch.StartNew();
        await Pause(warmUp, CancellationToken.None);
        var samples = new List<Sample>();
        var every = TimeSpan.FromSeconds(window.TotalSeconds / 24);
        while (clock.Elapsed < warmUp + window)
        {
            await using var count = db.CreateCommand(
                "SELECT (SELECT count(*) FROM stevedore_tasks), (SELECT sum(pg_total_relation_size(t)) FROM unnest(ARRAY['stevedore_tasks', " +
                "'stevedore_payloads', 'stevedore_logs', 'stevedore_results', 'stevedore_idempotency']) t)::bigint");
            await using var reader = await count.ExecuteReaderAsync();
            await reader.ReadAsync();
            var (rows, bytes) = (reader.GetInt64(0), reader.GetInt64(1));
            samples.Add(new Sample(rows, bytes, GC.GetTotalMemory(forceFullCollection: true), BenchEnvironment.RssBytes()));
            await Pause(every, CancellationToken.None);
        }

        await stop.CancelAsync();
        await feeding;
        await sweeping;
        var half = samples.Count / 2;
        void StartEnd(string name, Func<Sample, double> value, double unit)
        {
            var start = samples.Take(half).Max(s => value(s)) / unit;
            var end = samples.Skip(half).Max(s => value(s)) / unit;
            Report.Figure($"steady.{name}.start", start);
            Report.Figure($"steady.{name}.end", end);
            Report.Figure($"steady.{name}.growth", end / start);
        }

        StartEnd("table_rows", s => s.Rows, 1);
        StartEnd("table_mib", s => s.Bytes, 1 << 20);
        StartEnd("heap_mib", s => s.Heap, 1 << 20);
        StartEnd("rss_mib", s => s.Rss, 1 << 20);
        Report.Figure("steady.enqueued_per_s", enqueued / clock.Elapsed.TotalSeconds);
        Report.Note($"steady: {rate} single enqueues/s for {clock.Elapsed.TotalSeconds:0} s ({enqueued} tasks), " +
            (janitor is null ? "the janitor grain with a 1 min retention and a 1 min sweep" : "the janitor's sweeper driven twice a second over a 1 s retention") +
            $"; {samples.Count} samples after {warmUp.TotalSeconds:0} s; start/end = the largest sample of each half of the window; " +
            $"rows {string.Join(" ", samples.Select(s => s.Rows))}");
    }

    /// <summary>The janitor's sweeper run to the end every <paramref name="retention"/>/2, over a retention no host accepts (quick runs only).</summary>
    private static Func<CancellationToken, Task> DrivenJanitor(WebApplication app, TimeSpan retention) => async stop =>
    {
        var sweeper = Sweeper(app, new RetentionOptions { FinishedTasks = retention });
        while (!stop.IsCancellationRequested)
        {
            await sweeper.SweepAllAsync(CancellationToken.None);
            await Pause(retention / 2, stop);
        }
    };

    /// <summary>A sweeper over the host's own stores with other retention settings (the host's janitor keeps its own).</summary>
    private static RetentionSweeper Sweeper(WebApplication app, RetentionOptions options)
    {
        var services = app.Services;
        return new RetentionSweeper(
            services.GetRequiredService<IJobStore>(), services.GetRequiredService<ITaskStore>(), services.GetRequiredService<ITaskContentStore>(),
            Microsoft.Extensions.Options.Options.Create(options), services.GetRequiredService<IOptions<QueueOptions>>(), TimeProvider.System);
    }

    private readonly record struct Sample(long Rows, long Bytes, long Heap, long Rss);

    private static async Task Pause(TimeSpan span, CancellationToken stop)
    {
        try
        {
            await Task.Delay(span, stop);
        }
        catch (OperationCanceledException)
        {
            // The round is over.
        }
    }

    /// <summary>Time-boxed single enqueues into a job of their own, with something running alongside.</summary>
    private sealed class Load(WebApplication app)
    {
        public TaskService Tasks { get; } = app.Services.GetRequiredService<TaskService>();
        public ITaskStore Store { get; } = app.Services.GetRequiredService<ITaskStore>();
        private readonly JobService _jobs = app.Services.GetRequiredService<JobService>();

        /// <summary>Enqueues for <paramref name="duration"/>; returns enqueues per second. Waits (unclocked) until the tasks finished.</summary>
        public async Task<double> EnqueueForAsync(string job, TimeSpan duration, Func<CancellationToken, Task>? alongside)
        {
            await _jobs.PutAsync(job, new JobDraft { Image = "fake/ok" });
            BenchEnvironment.Quiesce();
            using var stop = new CancellationTokenSource();
            var side = alongside?.Invoke(stop.Token) ?? Task.CompletedTask;
            long count = 0;
            var clock = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, Lifecycle.Callers).Select(_ => Task.Run(async () =>
            {
                while (clock.Elapsed < duration)
                {
                    var result = await Tasks.EnqueueAsync(job, new TaskDraft());
                    if (!result.Ok)
                    {
                        throw new InvalidOperationException(result.Error!.Detail);
                    }

                    Interlocked.Increment(ref count);
                }
            })));
            var perSecond = count / clock.Elapsed.TotalSeconds;
            await stop.CancelAsync();
            await side;
            await Lifecycle.WaitFinishedAsync(Lifecycle.StoreCounter(Store, job), count, $"tasks of {job}");
            return perSecond;
        }
    }
}

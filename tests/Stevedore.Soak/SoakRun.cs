using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Stevedore.Testing;

namespace Stevedore.Soak;

/// <summary>What a soak is asked to do (scripts/soak's arguments).</summary>
public sealed record SoakSettings(double Minutes, int Seed, IReadOnlyCollection<ChaosKind> Chaos, int Silos, int Callers);

/// <summary>
/// One soak: an engine, a PostgreSQL and a cluster of host processes of its own; load and chaos for the given minutes;
/// then the drain (every task to a final state, bounded), the invariants as figures, and the teardown of everything it
/// started — also when it fails or is interrupted. Returns the number of violations.
/// </summary>
public sealed class SoakRun(SoakSettings settings, string folder)
{
    public const string Image = "stevedore/busybox:latest";

    private static readonly TimeSpan s_startDeadline = TimeSpan.FromMinutes(2);
    private static readonly TimeSpan s_drainDeadline = TimeSpan.FromMinutes(2);
    private static readonly TimeSpan s_sweepDeadline = TimeSpan.FromSeconds(30);

    private readonly OwnEngine _engine = new(Path.Combine(folder, "engine"));
    private readonly OwnPostgres _postgres = new(Names.FreePort());
    private readonly List<SoakSilo> _silos = [];

    public async Task<int> RunAsync(CancellationToken ct)
    {
        var run = Path.GetFileName(folder);
        Note($"chaos soak {run}: {settings.Minutes.ToString(CultureInfo.InvariantCulture)} min of load and chaos ({string.Join(", ", settings.Chaos)}), " +
             $"{settings.Silos} silos, seed {settings.Seed} (scripts/soak --seed {settings.Seed} repeats its choices); logs in {folder}");
        Figure("seed", settings.Seed);
        await File.WriteAllTextAsync(Path.Combine(folder, "pg.port"), _postgres.Port.ToString(CultureInfo.InvariantCulture), ct);
        await _engine.StartAsync(Image);
        await _postgres.StartAsync();
        await MigrateAsync();
        for (var n = 1; n <= settings.Silos; n++)
        {
            var silo = new SoakSilo(n, $"{run}-{n}", Path.Combine(folder, $"silo-{n}.log"),
                "--Stevedore:Storage=Postgres",
                $"--ConnectionStrings:Postgres={_postgres.ConnectionString}",
                $"--Orleans:ClusterId={run}",
                $"--Stevedore:Docker:Endpoint={_engine.Endpoint}",
                "--Stevedore:Worker:Slots=3",
                "--Stevedore:Queue:LeaseDuration=00:00:03");
            _silos.Add(silo);
            silo.Start();
        }

        await Task.WhenAll(_silos.Select(s => s.WaitHealthyAsync(s_startDeadline, ct)));
        var api = new Api(_silos);
        var workload = new Workload(api, settings.Seed, Image);
        await workload.DefineJobsAsync(ct);

        var chaos = new Chaos(_silos, _engine, _postgres, settings.Chaos, new Random(settings.Seed));
        using var watching = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var watch = chaos.WatchAsync(watching.Token);
        var clock = Stopwatch.StartNew();
        var until = DateTimeOffset.UtcNow + TimeSpan.FromMinutes(settings.Minutes);
        var meanGap = TimeSpan.FromSeconds(Math.Clamp(settings.Minutes * 60 / 6, 5, 20));
        await Task.WhenAll(workload.RunAsync(settings.Callers, until, ct), settings.Chaos.Count == 0 ? Task.CompletedTask : chaos.RunAsync(until, meanGap, ct));
        var load = clock.Elapsed;
        Note($"load done after {load.TotalSeconds:0} s; draining");

        await Task.WhenAll(_silos.Select(s => s.WaitHealthyAsync(s_startDeadline, ct)));
        var tasks = await DrainAsync(api, workload, ct);
        var drained = clock.Elapsed;
        await watching.CancelAsync();
        await Ignore(watch);
        var left = await ContainersLeftAsync(ct);

        var figures = Invariants.Check(tasks, workload.Jobs, workload.IdsByKey, left, DateTimeOffset.UtcNow).ToList();
        figures.Add(new("idempotency.resent", workload.Resent));
        figures.Add(new("cancels", workload.Cancels));
        figures.Add(new("http.refused", workload.Refused, Violation: true));
        figures.Add(new("http.5xx_not_503", api.Counts.ServerErrors, Violation: true));
        figures.Add(new("http.503", api.Counts.Unavailable));
        figures.Add(new("http.connection_errors", api.Counts.TransportErrors));
        figures.Add(new("http.given_up", api.Counts.GivenUp));
        figures.Add(new("chaos.silo_kills", chaos.Done[ChaosKind.Silo]));
        figures.Add(new("chaos.engine_restarts", chaos.Done[ChaosKind.Engine]));
        figures.Add(new("chaos.postgres_restarts", chaos.Done[ChaosKind.Postgres]));
        figures.Add(new("chaos.longest_recovery_s", Math.Round(chaos.LongestRecovery.TotalSeconds, 1)));
        figures.Add(new("chaos.unrecovered", chaos.Unrecovered, Violation: true));
        figures.Add(new("silo_crashes", chaos.Crashes.Count, Violation: true));
        figures.Add(new("load_s", Math.Round(load.TotalSeconds)));
        figures.Add(new("drain_s", Math.Round((drained - load).TotalSeconds)));
        figures.Add(new("throughput.final_tasks_per_min", Math.Round(tasks.Count(t => t.Final) / drained.TotalMinutes, 1)));
        foreach (var figure in figures)
        {
            Figure(figure.Name, figure.Value);
        }

        foreach (var line in chaos.Crashes.Concat(api.Counts.ServerErrorSamples).Concat(workload.Refusals))
        {
            Note(line);
        }

        foreach (var task in tasks.Where(t => !t.Final || Invariants.SucceededTwice(t) || Invariants.RetriesExceeded(t, workload.Jobs) || !Invariants.NumberedInOrder(t)).Take(10))
        {
            Note($"task {task.Id} ({task.Job}) {task.Status}: {JsonSerializer.Serialize(task.Attempts)}");
        }

        var violated = figures.Where(f => f.Violated).ToList();
        Figure("violations", violated.Count);
        Note(violated.Count == 0 ? "every invariant held" : $"violated: {string.Join(", ", violated.Select(f => f.Name))}");
        return violated.Count;
    }

    /// <summary>Removes everything the soak started: silos, the engine with its containers, PostgreSQL with its data.</summary>
    public async Task TearDownAsync()
    {
        await Cleanup.AllAsync("the soak",
            async () =>
            {
                foreach (var silo in _silos)
                {
                    await silo.DisposeAsync();
                }
            },
            _engine.DestroyAsync,
            async () =>
            {
                await _postgres.DestroyAsync();
                File.Delete(Path.Combine(folder, "pg.port"));
            });
    }

    private async Task MigrateAsync()
    {
        var start = new ProcessStartInfo("dotnet", [SoakSilo.HostDll, "migrate", $"--ConnectionStrings:Postgres={_postgres.ConnectionString}"]);
        var (exitCode, stdout, stderr) = await Processes.RunAsync(start, s_startDeadline);
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"migrate failed with {exitCode}: {stdout}{stderr}");
        }
    }

    /// <summary>Reads every task until none is queued or running, or the deadline passes; returns them as last read.</summary>
    private async Task<IReadOnlyList<TaskSeen>> DrainAsync(Api api, Workload workload, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var tasks = new List<TaskSeen>();
            foreach (var job in workload.Jobs)
            {
                tasks.AddRange(await ListAsync(api, job.Name, ct));
            }

            if (tasks.All(t => t.Final) || clock.Elapsed > s_drainDeadline)
            {
                return tasks;
            }

            await Task.Delay(1000, ct);
        }
    }

    private static async Task<List<TaskSeen>> ListAsync(Api api, string job, CancellationToken ct)
    {
        var all = new List<TaskSeen>();
        string? cursor = null;
        do
        {
            var path = $"/v1/tasks?job={job}&limit=1000" + (cursor is null ? "" : $"&cursor={Uri.EscapeDataString(cursor)}");
            var answer = await api.SendAsync(HttpMethod.Get, path, null, s_startDeadline, ct);
            if (answer is not { Status: HttpStatusCode.OK } page)
            {
                throw new InvalidOperationException($"GET {path} answered {answer?.Status.ToString() ?? "nothing"}");
            }

            all.AddRange(page.Body.GetProperty("items").EnumerateArray().Select(Read));
            cursor = page.Body.TryGetProperty("nextCursor", out var next) && next.ValueKind == JsonValueKind.String ? next.GetString() : null;
        }
        while (cursor is not null);
        return all;
    }

    private static TaskSeen Read(JsonElement t) => new(
        t.GetProperty("id").GetString()!,
        t.GetProperty("job").GetString()!,
        t.GetProperty("status").GetString()!,
        t.TryGetProperty("labels", out var labels) && labels.ValueKind == JsonValueKind.Object && labels.TryGetProperty("key", out var key) ? key.GetString() : null,
        [.. t.GetProperty("attempts").EnumerateArray().Select(a => new AttemptSeen(
            a.GetProperty("number").GetInt32(),
            a.GetProperty("status").GetString()!,
            a.GetProperty("startedAt").GetDateTimeOffset(),
            a.TryGetProperty("finishedAt", out var f) && f.ValueKind == JsonValueKind.String ? f.GetDateTimeOffset() : null,
            a.TryGetProperty("error", out var e) && e.ValueKind == JsonValueKind.String ? e.GetString() : null))]);

    /// <summary>Task containers still on the engine once every task ended, after the workers had time to remove them.</summary>
    private async Task<int> ContainersLeftAsync(CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var left = await _engine.TaskContainersAsync();
            if (left.Count == 0 || clock.Elapsed > s_sweepDeadline)
            {
                foreach (var c in left.Take(5))
                {
                    Note($"left behind: container {c.ID[..12]} of task {(c.Labels.TryGetValue("stevedore.task", out var task) ? task : "?")} ({c.State}, {c.Status})");
                }

                return left.Count;
            }

            await Task.Delay(1000, ct);
        }
    }

    private static async Task Ignore(Task task)
    {
        try
        {
            await task;
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static void Figure(string name, double value) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"soak.{name}={value}"));

    private static void Note(string text) => Console.WriteLine($"# {text}");
}

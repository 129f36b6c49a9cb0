using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Stevedore.Application;
using Stevedore.Storage;

namespace Stevedore.Benchmarks;

/// <summary>
/// Single enqueues, durably: what an app server does — one task per request — from a real HTTP load generator
/// (<c>wrk</c>, <see cref="Lifecycle.Callers"/> connections) against one PostgreSQL-backed silo (fsync on) on the fake
/// driver, while the tasks run. After each round, how long the lifecycle takes to finish what was enqueued.
/// </summary>
public static class EnqueueScenario
{
    private const string Script = """
        wrk.method = "POST"
        wrk.body = '{"payload":{"order":42}}'
        wrk.headers["Content-Type"] = "application/json"
        done = function(summary, latency, requests)
          local e = summary.errors
          io.write(string.format("wrk requests=%d errors=%d p50_us=%d p99_us=%d duration_us=%d\n",
            summary.requests, e.connect + e.read + e.write + e.status + e.timeout,
            latency:percentile(50), latency:percentile(99), summary.duration))
        end
        """;

    public static async Task RunAsync(bool quick)
    {
        var rounds = quick ? 1 : 5;
        var seconds = quick ? 3 : 6;
        await BenchEnvironment.ShellAsync("ensure_wrk");
        var cs = await BenchEnvironment.FreshDatabaseAsync("bench_enqueue");
        await using var app = await ControlPlaneScenarios.StartFakeHostAsync(new() { ["Stevedore:Storage"] = "Postgres", ["ConnectionStrings:Postgres"] = cs });
        var jobs = app.Services.GetRequiredService<JobService>();
        var store = app.Services.GetRequiredService<ITaskStore>();
        var script = Path.Combine(Path.GetTempPath(), $"stevedore-bench-{Guid.NewGuid():N}.lua");
        await File.WriteAllTextAsync(script, Script);
        try
        {
            await jobs.PutAsync("warm", new JobDraft { Image = "fake/ok" });
            await WrkAsync(app, script, "warm", 1);
            var perSecond = new List<double>();
            var p50 = new List<double>();
            var p99 = new List<double>();
            var drain = new List<double>();
            for (var round = 0; round < rounds; round++)
            {
                var job = $"orders-{round}";
                await jobs.PutAsync(job, new JobDraft { Image = "fake/ok" });
                var run = await WrkAsync(app, script, job, seconds);
                var ended = Stopwatch.StartNew();
                await WaitDrainedAsync(store, job, run.Requests);
                perSecond.Add(run.Requests / run.Seconds);
                p50.Add(run.P50Ms);
                p99.Add(run.P99Ms);
                drain.Add(ended.Elapsed.TotalMilliseconds);
            }

            Report.Rounds("enqueue.postgres.single_per_s", perSecond);
            Report.Rounds("enqueue.postgres.single_p50_ms", p50);
            Report.Rounds("enqueue.postgres.single_p99_ms", p99);
            Report.Rounds("enqueue.postgres.drain_ms", drain);
            Report.Note($"enqueue: {rounds} rounds of wrk, {Lifecycle.Callers} connections, {seconds} s, POST /v1/jobs/{{job}}/tasks with a small JSON " +
                "payload, one PostgreSQL-backed silo on the fake driver running the tasks meanwhile; drain = wrk's end → every task stored as finished");
        }
        finally
        {
            File.Delete(script);
            await app.StopAsync();
        }
    }

    private sealed record WrkRun(long Requests, double Seconds, double P50Ms, double P99Ms);

    private static async Task<WrkRun> WrkAsync(Microsoft.AspNetCore.Builder.WebApplication app, string script, string job, int seconds)
    {
        var url = new Uri(BenchEnvironment.HttpAddress(app), $"/v1/jobs/{job}/tasks");
        var start = new ProcessStartInfo("wrk", ["-t2", $"-c{Lifecycle.Callers}", $"-d{seconds}s", "--timeout", "10s", "-s", script, url.ToString()])
        {
            RedirectStandardOutput = true,
        };
        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        var line = output.Split('\n').FirstOrDefault(l => l.StartsWith("wrk ", StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"wrk exited {process.ExitCode} without its summary: {output}");
        var values = line[4..].Split(' ').Select(kv => kv.Split('=')).ToDictionary(kv => kv[0], kv => long.Parse(kv[1], CultureInfo.InvariantCulture));
        if (values["errors"] > 0)
        {
            throw new InvalidOperationException($"wrk saw {values["errors"]} errors or non-2xx answers: {output}");
        }

        return new WrkRun(values["requests"], values["duration_us"] / 1e6, values["p50_us"] / 1000.0, values["p99_us"] / 1000.0);
    }

    /// <summary>Waits until at least <paramref name="accepted"/> tasks are stored and all stored tasks have finished.</summary>
    private static async Task WaitDrainedAsync(ITaskStore store, string job, long accepted)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var counts = await store.CountByStatusAsync(job);
            var total = counts.Values.Sum();
            var ended = counts.Where(c => c.Key.IsTerminal()).Sum(c => c.Value);
            if (total >= accepted && ended == total)
            {
                if (counts[TaskRunStatus.Succeeded] != total)
                {
                    throw new InvalidOperationException($"only {counts[TaskRunStatus.Succeeded]} of {total} enqueued tasks succeeded");
                }

                return;
            }

            if (deadline.Elapsed > TimeSpan.FromMinutes(5))
            {
                throw new TimeoutException($"{ended} of {total} enqueued tasks ({accepted} accepted) finished in 5 minutes");
            }

            await Task.Delay(10);
        }
    }
}

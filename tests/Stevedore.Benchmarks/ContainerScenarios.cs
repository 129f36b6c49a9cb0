using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Docker.DotNet;
using Docker.DotNet.Models;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Stevedore.Storage;

namespace Stevedore.Benchmarks;

/// <summary>
/// Real containers: Stevedore tasks against two baselines running the same image and command through the same
/// engine in the same run — <c>docker run --rm</c> (the CLI, a process per run) and the Engine API called from this
/// process (<see cref="EngineBaseline"/>). Samples alternate between the three, rotating who goes first.
/// </summary>
public static class ContainerScenarios
{
    private const int Slots = 4;
    private static readonly string[] s_command = ["echo", "hi"];

    public static async Task ColdAsync(bool quick)
    {
        var rounds = quick ? 2 : 5;
        var perRound = quick ? 5 : 8;
        await BenchEnvironment.ShellAsync($"ensure_docker && ensure_busybox_image {BenchEnvironment.Image}");
        await using var app = await BenchEnvironment.StartHostAsync(new() { ["Stevedore:Worker:Slots"] = Slots.ToString(CultureInfo.InvariantCulture) });
        using var http = new HttpClient { BaseAddress = BenchEnvironment.HttpAddress(app) };
        using var engine = new EngineBaseline();
        await PutEchoJobAsync(http, "cold");

        // Warm every path once (image cache, engine caches, connections), then take the samples.
        await RunTaskAsync(http, "cold");
        await SpareReadyAsync("cold");
        await DockerRunAsync();
        await engine.RunAsync(BenchEnvironment.Image, s_command, "hi\n");
        var samples = await Interleave.RoundsAsync(rounds * perRound,
            ("stevedore", async _ =>
            {
                var ms = await TimeAsync(() => RunTaskAsync(http, "cold"));
                // Off the clock: the container pre-started for the next task is up before any contender goes on, so
                // no baseline shares the engine with its start.
                await SpareReadyAsync("cold");
                return ms;
            }),
            ("cli", _ => TimeAsync(DockerRunAsync)),
            ("engine", _ => TimeAsync(() => engine.RunAsync(BenchEnvironment.Image, s_command, "hi\n"))));
        var (stevedore, cli, api) = (samples["stevedore"], samples["cli"], samples["engine"]);

        Report.Figure("cold.stevedore_p50_ms", Report.Percentile(stevedore, 0.5));
        Report.Figure("cold.stevedore_p95_ms", Report.Percentile(stevedore, 0.95));
        Report.Figure("cold.docker_p50_ms", Report.Percentile(cli, 0.5));
        Report.Figure("cold.docker_p95_ms", Report.Percentile(cli, 0.95));
        Report.Figure("cold.engine_p50_ms", Report.Percentile(api, 0.5));
        Report.Figure("cold.engine_p95_ms", Report.Percentile(api, 0.95));
        Report.Rounds("cold.ratio_p50", RoundRatios(stevedore, cli, perRound));
        Report.Rounds("cold.ratio_engine_p50", RoundRatios(stevedore, api, perRound));
        Report.Note($"cold: {rounds} rounds of {perRound} sequential `echo hi` runs each — Stevedore (POST, follow the log to its end, GET the task; " +
            "each task runs in the container pre-started for its job while the one before ran, and the next sample of any contender waits until that one is up), " +
            "`docker run --rm` (cold.ratio_p50 is against it) and the Engine API create → attach → start → wait → remove (cold.ratio_engine_p50); " +
            "a ratio is the median over rounds of the round's p50 ratio");
        await app.StopAsync();
    }

    public static async Task ParallelAsync(bool quick)
    {
        var rounds = quick ? 2 : 5;
        var n = quick ? 12 : 40;
        await BenchEnvironment.ShellAsync($"ensure_docker && ensure_busybox_image {BenchEnvironment.Image}");
        await using var app = await BenchEnvironment.StartHostAsync(new() { ["Stevedore:Worker:Slots"] = Slots.ToString(CultureInfo.InvariantCulture) });
        using var http = new HttpClient { BaseAddress = BenchEnvironment.HttpAddress(app) };
        using var engine = new EngineBaseline();
        await PutEchoJobAsync(http, "parallel");
        var store = app.Services.GetRequiredService<ITaskStore>();
        await RunTaskAsync(http, "parallel");

        var rates = await Interleave.RoundsAsync(rounds,
            ("stevedore", async _ =>
            {
                var before = (await store.CountByStatusAsync("parallel"))[TaskRunStatus.Succeeded];
                var sw = Stopwatch.StartNew();
                var body = new { tasks = Enumerable.Range(0, n).Select(_ => new { }).ToArray() };
                (await http.PostAsJsonAsync("/v1/jobs/parallel/tasks:batch", body)).EnsureSuccessStatusCode();
                await Lifecycle.WaitFinishedAsync(Lifecycle.StoreCounter(store, "parallel"), before + n, "parallel Stevedore tasks");
                return n / sw.Elapsed.TotalSeconds;
            }),
            ("cli", _ => FourAtATimeAsync(n, DockerRunAsync)),
            ("engine", _ => FourAtATimeAsync(n, () => engine.RunAsync(BenchEnvironment.Image, s_command, "hi\n"))));

        Report.Rounds("parallel.stevedore_tasks_per_s", rates["stevedore"]);
        Report.Rounds("parallel.docker_per_s", rates["cli"]);
        Report.Rounds("parallel.engine_per_s", rates["engine"]);
        Report.Rounds("parallel.ratio", Interleave.Ratios(rates["stevedore"], rates["cli"]));
        Report.Rounds("parallel.ratio_engine", Interleave.Ratios(rates["stevedore"], rates["engine"]));
        Report.Note($"parallel: {rounds} rounds of {n} `echo hi` tasks with {Slots} worker slots vs {n} `docker run --rm` (parallel.ratio) " +
            $"and {n} Engine API runs (parallel.ratio_engine), {Slots} at a time");
        await app.StopAsync();
    }

    private static async Task<double> FourAtATimeAsync(int n, Func<Task> run)
    {
        using var gate = new SemaphoreSlim(Slots);
        var sw = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, n).Select(async _ =>
        {
            await gate.WaitAsync();
            try
            {
                await run();
            }
            finally
            {
                gate.Release();
            }
        }));
        return n / sw.Elapsed.TotalSeconds;
    }

    /// <summary>The p50 ratio of each round of <paramref name="perRound"/> consecutive samples.</summary>
    private static List<double> RoundRatios(IReadOnlyList<double> a, IReadOnlyList<double> b, int perRound) =>
        a.Chunk(perRound).Zip(b.Chunk(perRound), (x, y) => Report.Percentile(x, 0.5) / Report.Percentile(y, 0.5)).ToList();

    /// <summary>
    /// Waits until <paramref name="job"/> has a pre-started container running and none being created or started:
    /// the engine is quiet again.
    /// </summary>
    private static async Task SpareReadyAsync(string job)
    {
        using var docker = new DockerClientConfiguration(new Uri("unix:///var/run/docker.sock")).CreateClient();
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var containers = await docker.Containers.ListContainersAsync(new ContainersListParameters
            {
                All = true,
                Filters = new Dictionary<string, IDictionary<string, bool>>
                {
                    ["label"] = new Dictionary<string, bool> { [$"stevedore.job={job}"] = true, ["stevedore.spare"] = true },
                },
            });
            if (containers.Count > 0 && containers.All(c => c.State == "running"))
            {
                return;
            }

            if (deadline.Elapsed > TimeSpan.FromSeconds(60))
            {
                throw new InvalidOperationException($"job {job} has no pre-started container after 60 s ({containers.Count} seen)");
            }

            await Task.Delay(10);
        }
    }

    private static async Task<double> TimeAsync(Func<Task> run)
    {
        var sw = Stopwatch.StartNew();
        await run();
        return sw.Elapsed.TotalMilliseconds;
    }

    private static async Task PutEchoJobAsync(HttpClient http, string name) =>
        (await http.PutAsJsonAsync($"/v1/jobs/{name}", new { image = BenchEnvironment.Image, command = s_command })).EnsureSuccessStatusCode();

    private static async Task RunTaskAsync(HttpClient http, string job)
    {
        var created = await (await http.PostAsJsonAsync($"/v1/jobs/{job}/tasks", new { })).Content.ReadFromJsonAsync<JsonElement>();
        var id = created.GetProperty("id").GetString();
        await http.GetStringAsync($"/v1/tasks/{id}/log?follow=true");
        var task = await http.GetFromJsonAsync<JsonElement>($"/v1/tasks/{id}");
        if (task.GetProperty("status").GetString() != "succeeded")
        {
            throw new InvalidOperationException($"task {id} did not succeed: {task}");
        }
    }

    private static async Task DockerRunAsync()
    {
        var start = new ProcessStartInfo("docker", ["run", "--rm", BenchEnvironment.Image, .. s_command]) { RedirectStandardOutput = true };
        using var process = Process.Start(start)!;
        await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException("docker run failed");
        }
    }
}

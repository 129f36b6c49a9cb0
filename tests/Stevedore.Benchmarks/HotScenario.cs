using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Stevedore.Storage;

namespace Stevedore.Benchmarks;

/// <summary>
/// Hot containers on the real engine: a no-op busybox sh handler in one hot container (maxPerNode 1). Latency is one
/// task at a time, enqueue → finished seen by the client (sync invoke, <c>POST …/tasks?wait=</c>); throughput is a
/// batch of tasks through that one container, until the store shows them all succeeded. The cold figure of the same
/// kind (the same sync invoke of a cold `echo hi` job) is measured beside it, in the same run.
/// </summary>
public static class HotScenario
{
    private const int Slots = 4;

    // The no-op handler: answers each invocation with an empty result (payloads are empty, so there is nothing to read).
    private const string NoOpHandler = "while read -r tag id attempt len; do printf 'STEVEDORE-RESULT ok 0\\n'; done";

    public static async Task RunAsync(bool quick)
    {
        var samples = quick ? 50 : 500;
        var coldSamples = quick ? 3 : 20;
        var rounds = quick ? 1 : 5;
        var batch = quick ? 300 : 1000; // the most one batch call takes
        await BenchEnvironment.ShellAsync($"ensure_docker && ensure_busybox_image {BenchEnvironment.Image}");
        await using var app = await BenchEnvironment.StartHostAsync(new() { ["Stevedore:Worker:Slots"] = Slots.ToString(CultureInfo.InvariantCulture) });
        using var http = new HttpClient { BaseAddress = BenchEnvironment.HttpAddress(app) };
        var store = app.Services.GetRequiredService<ITaskStore>();
        (await http.PutAsJsonAsync("/v1/jobs/hot", new
        {
            image = BenchEnvironment.Image,
            command = new[] { "sh", "-c", NoOpHandler },
            hot = new { maxPerNode = 1, idleSeconds = 600 },
        })).EnsureSuccessStatusCode();
        (await http.PutAsJsonAsync("/v1/jobs/hot-cold", new { image = BenchEnvironment.Image, command = new[] { "true" } })).EnsureSuccessStatusCode();

        // Warm-up: the first task starts the container; a few more warm the paths.
        for (var i = 0; i < 20; i++)
        {
            await InvokeAsync(http, "hot");
        }

        await InvokeAsync(http, "hot-cold");
        var latencies = new List<double>(samples);
        for (var i = 0; i < samples; i++)
        {
            var sw = Stopwatch.StartNew();
            await InvokeAsync(http, "hot");
            latencies.Add(sw.Elapsed.TotalMilliseconds);
        }

        var cold = new List<double>(coldSamples);
        for (var i = 0; i < coldSamples; i++)
        {
            var sw = Stopwatch.StartNew();
            await InvokeAsync(http, "hot-cold");
            cold.Add(sw.Elapsed.TotalMilliseconds);
        }

        var rates = new List<double>();
        for (var r = 0; r < rounds; r++)
        {
            var before = (await store.CountByStatusAsync("hot"))[TaskRunStatus.Succeeded];
            var sw = Stopwatch.StartNew();
            var body = new { tasks = Enumerable.Range(0, batch).Select(_ => new { }).ToArray() };
            (await http.PostAsJsonAsync("/v1/jobs/hot/tasks:batch", body)).EnsureSuccessStatusCode();
            await Lifecycle.WaitFinishedAsync(Lifecycle.StoreCounter(store, "hot"), before + batch, "hot tasks");
            rates.Add(batch / sw.Elapsed.TotalSeconds);
        }

        Report.Figure("hot.p50_ms", Report.Percentile(latencies, 0.5));
        Report.Figure("hot.p99_ms", Report.Percentile(latencies, 0.99));
        Report.Figure("hot.cold_sync_p50_ms", Report.Percentile(cold, 0.5));
        Report.Rounds("hot.tasks_per_s", rates);
        Report.Note($"hot: {samples} sequential sync invokes (POST ?wait=, 200 with the finished task) of a no-op sh handler in one hot container " +
            $"(hot.p50_ms, hot.p99_ms) against {coldSamples} of a cold `true` job (hot.cold_sync_p50_ms); hot.tasks_per_s: {rounds} round(s) of " +
            $"{batch} tasks in one batch through that one container ({Slots} worker slots), until the store shows them all succeeded");
        await app.StopAsync();
    }

    private static async Task InvokeAsync(HttpClient http, string job)
    {
        var response = await http.PostAsJsonAsync($"/v1/jobs/{job}/tasks?wait=60", new { });
        var task = await response.Content.ReadFromJsonAsync<JsonElement>();
        if ((int)response.StatusCode != 200 || task.GetProperty("status").GetString() != "succeeded")
        {
            throw new InvalidOperationException($"{job} task did not succeed: {task}");
        }
    }
}

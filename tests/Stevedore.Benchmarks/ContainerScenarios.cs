using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Stevedore.Storage;

namespace Stevedore.Benchmarks;

/// <summary>Real containers: Stevedore tasks against <c>docker run --rm</c> of the same image and command.</summary>
public static class ContainerScenarios
{
    private const int Slots = 4;

    public static async Task ColdAsync(bool quick)
    {
        var n = quick ? 10 : 30;
        await BenchEnvironment.ShellAsync($"ensure_docker && ensure_busybox_image {BenchEnvironment.Image}");
        await using var app = await BenchEnvironment.StartHostAsync(new() { ["Stevedore:Worker:Slots"] = Slots.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        using var http = new HttpClient { BaseAddress = BenchEnvironment.HttpAddress(app) };
        await PutEchoJobAsync(http, "cold");

        // Warm both paths once (JIT, image cache, engine caches), then interleave the samples.
        await RunTaskAsync(http, "cold");
        await DockerRunAsync();
        var stevedore = new List<double>();
        var docker = new List<double>();
        for (var i = 0; i < n; i++)
        {
            var sw = Stopwatch.StartNew();
            await RunTaskAsync(http, "cold");
            stevedore.Add(sw.Elapsed.TotalMilliseconds);
            sw.Restart();
            await DockerRunAsync();
            docker.Add(sw.Elapsed.TotalMilliseconds);
        }

        Report.Figure("cold.stevedore_p50_ms", Report.Percentile(stevedore, 0.5));
        Report.Figure("cold.stevedore_p95_ms", Report.Percentile(stevedore, 0.95));
        Report.Figure("cold.docker_p50_ms", Report.Percentile(docker, 0.5));
        Report.Figure("cold.docker_p95_ms", Report.Percentile(docker, 0.95));
        Report.Figure("cold.ratio_p50", Report.Percentile(stevedore, 0.5) / Report.Percentile(docker, 0.5));
        Report.Note($"cold: {n} sequential `echo hi` tasks (POST, follow the log to its end, GET the task) vs `docker run --rm` through the same engine");
        await app.StopAsync();
    }

    public static async Task ParallelAsync(bool quick)
    {
        var n = quick ? 40 : 200;
        await BenchEnvironment.ShellAsync($"ensure_docker && ensure_busybox_image {BenchEnvironment.Image}");
        await using var app = await BenchEnvironment.StartHostAsync(new() { ["Stevedore:Worker:Slots"] = Slots.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        using var http = new HttpClient { BaseAddress = BenchEnvironment.HttpAddress(app) };
        await PutEchoJobAsync(http, "parallel");
        var tasks = app.Services.GetRequiredService<ITaskStore>();
        await RunTaskAsync(http, "parallel");

        var sw = Stopwatch.StartNew();
        var body = new { tasks = Enumerable.Range(0, n).Select(_ => new { }).ToArray() };
        (await http.PostAsJsonAsync("/v1/jobs/parallel/tasks:batch", body)).EnsureSuccessStatusCode();
        while (true)
        {
            var counts = await tasks.CountByStatusAsync("parallel");
            if (counts[TaskRunStatus.Succeeded] + counts[TaskRunStatus.Failed] >= n + 1)
            {
                break;
            }

            await Task.Delay(20);
        }

        var stevedoreRate = n / sw.Elapsed.TotalSeconds;
        var failed = (await tasks.CountByStatusAsync("parallel"))[TaskRunStatus.Failed];

        using var gate = new SemaphoreSlim(Slots);
        sw.Restart();
        await Task.WhenAll(Enumerable.Range(0, n).Select(async _ =>
        {
            await gate.WaitAsync();
            try
            {
                await DockerRunAsync();
            }
            finally
            {
                gate.Release();
            }
        }));
        var dockerRate = n / sw.Elapsed.TotalSeconds;

        Report.Figure("parallel.stevedore_tasks_per_s", stevedoreRate);
        Report.Figure("parallel.docker_per_s", dockerRate);
        Report.Figure("parallel.ratio", stevedoreRate / dockerRate);
        Report.Figure("parallel.failed", failed);
        Report.Note($"parallel: {n} `echo hi` tasks with {Slots} worker slots vs {n} `docker run --rm` {Slots} at a time");
        await app.StopAsync();
    }

    private static async Task PutEchoJobAsync(HttpClient http, string name) =>
        (await http.PutAsJsonAsync($"/v1/jobs/{name}", new { image = BenchEnvironment.Image, command = new[] { "echo", "hi" } })).EnsureSuccessStatusCode();

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
        var start = new ProcessStartInfo("docker", ["run", "--rm", BenchEnvironment.Image, "echo", "hi"]) { RedirectStandardOutput = true };
        using var process = Process.Start(start)!;
        await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException("docker run failed");
        }
    }
}

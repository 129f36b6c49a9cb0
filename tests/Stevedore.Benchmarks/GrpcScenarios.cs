using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using Google.Protobuf;
using Microsoft.Extensions.DependencyInjection;
using Stevedore.Application;
using Stevedore.Client;

namespace Stevedore.Benchmarks;

// Inside the namespace: the API's messages.
using Stevedore.Api.V1;

/// <summary>
/// The front ends against each other in one run, on the embedded host with the fake driver: batch enqueue over gRPC
/// vs over HTTP (the same tasks, 1000 per call), and the round trip of a synchronous invoke of a no-op task
/// (gRPC <c>Run</c>, with HTTP <c>?wait=</c> as its baseline).
/// </summary>
public static class GrpcScenarios
{
    private const int Batch = 1000;

    public static async Task RunAsync(bool quick)
    {
        await using var app = await BenchEnvironment.StartHostAsync(new()
        {
            ["Stevedore:Storage"] = "Memory",
            ["Stevedore:Worker:Driver"] = "fake",
            ["Stevedore:Worker:Slots"] = "64",
        });
        using var http = new HttpClient { BaseAddress = BenchEnvironment.HttpAddress(app) };
        using var client = new StevedoreClient(new StevedoreClientOptions { Address = BenchEnvironment.GrpcAddress(app) });
        var jobs = app.Services.GetRequiredService<JobService>();
        await jobs.PutAsync("held", new JobDraft { Image = "fake/ok" });
        await jobs.SetPausedAsync("held", true);
        await jobs.PutAsync("noop", new JobDraft { Image = "fake/ok" });

        var n = quick ? 5_000 : 50_000;
        var rounds = quick ? 2 : 3;
        // Warm both paths, then alternate so neither gets the quieter machine.
        await HttpBatchAsync(http, Batch);
        await GrpcBatchAsync(client, Batch);
        double httpBest = 0, grpcBest = 0;
        for (var round = 0; round < rounds; round++)
        {
            httpBest = Math.Max(httpBest, await HttpBatchAsync(http, n));
            grpcBest = Math.Max(grpcBest, await GrpcBatchAsync(client, n));
        }

        Report.Figure("grpc.enqueue_batch_per_s", grpcBest);
        Report.Figure("http.enqueue_batch_per_s", httpBest);
        Report.Figure("grpc.enqueue_batch_vs_http", grpcBest / httpBest);
        Report.Note($"batch enqueue: {n} tasks with small JSON payloads in calls of {Batch}, best of {rounds}, paused job (enqueue alone)");

        var samples = quick ? 100 : 500;
        var grpcRun = await LatencyAsync(samples, async () =>
        {
            var run = await client.RunAsync("noop", new TaskInput { Payload = ByteString.CopyFromUtf8("x") });
            Check(run.Finished && run.Task.Status == TaskState.Succeeded, "gRPC Run did not finish");
        });
        var httpRun = await LatencyAsync(samples, async () =>
        {
            using var response = await http.PostAsync("/v1/jobs/noop/tasks?wait=60", new StringContent("""{"payload":"x"}""", Encoding.UTF8, "application/json"));
            Check(response.StatusCode == System.Net.HttpStatusCode.OK, $"HTTP ?wait= answered {(int)response.StatusCode}");
        });
        Report.Figure("grpc.run_p50_ms", Report.Percentile(grpcRun, 0.5));
        Report.Figure("grpc.run_p99_ms", Report.Percentile(grpcRun, 0.99));
        Report.Figure("http.wait_p50_ms", Report.Percentile(httpRun, 0.5));
        Report.Figure("http.wait_p99_ms", Report.Percentile(httpRun, 0.99));
        Report.Note($"sync invoke: {samples} no-op tasks one after another on the fake driver, enqueue → finished → answered");
        await app.StopAsync();
    }

    private static async Task<double> HttpBatchAsync(HttpClient http, int n)
    {
        var sw = Stopwatch.StartNew();
        for (var done = 0; done < n; done += Batch)
        {
            var body = new { tasks = Enumerable.Range(done, Math.Min(Batch, n - done)).Select(i => new { payload = new { n = i } }) };
            using var response = await http.PostAsJsonAsync("/v1/jobs/held/tasks:batch", body);
            Check(response.StatusCode == System.Net.HttpStatusCode.Accepted, $"HTTP batch answered {(int)response.StatusCode}");
        }

        return n / sw.Elapsed.TotalSeconds;
    }

    private static async Task<double> GrpcBatchAsync(StevedoreClient client, int n)
    {
        var sw = Stopwatch.StartNew();
        for (var done = 0; done < n; done += Batch)
        {
            var tasks = Enumerable.Range(done, Math.Min(Batch, n - done)).Select(i => new TaskInput { Payload = ByteString.CopyFromUtf8($"{{\"n\":{i}}}") });
            var ids = await client.QueueBatchAsync("held", tasks);
            Check(ids.Count > 0, "gRPC batch answered no ids");
        }

        return n / sw.Elapsed.TotalSeconds;
    }

    private static async Task<List<double>> LatencyAsync(int samples, Func<Task> call)
    {
        var times = new List<double>(samples);
        for (var i = 0; i < samples + 20; i++)
        {
            var before = Stopwatch.GetTimestamp();
            await call();
            if (i >= 20)
            {
                times.Add(Stopwatch.GetElapsedTime(before).TotalMilliseconds);
            }
        }

        return times;
    }

    private static void Check(bool condition, string message)
    {
        if (!condition)
        {
            throw new InvalidOperationException(message);
        }
    }
}

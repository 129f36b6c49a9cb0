using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Stevedore.Application;
using Stevedore.Execution.Fake;
using Stevedore.Storage;

namespace Stevedore.Benchmarks;

/// <summary>The control plane alone: the whole task lifecycle with the in-process fake container driver.</summary>
public static class ControlPlaneScenarios
{
    private const int Slots = 64;
    private const int Batch = 1000;

    public static async Task ControlAsync(bool quick, bool memoryOnly = false)
    {
        var n = quick ? 3000 : 20_000;
        await RunBackendAsync("memory", n, new() { ["Stevedore:Storage"] = "Memory" });
        if (memoryOnly)
        {
            return;
        }

        var cs = await BenchEnvironment.FreshDatabaseAsync("bench_control");
        await RunBackendAsync("postgres", n, new() { ["Stevedore:Storage"] = "Postgres", ["ConnectionStrings:Postgres"] = cs });
    }

    private static async Task RunBackendAsync(string backend, int n, Dictionary<string, string?> settings)
    {
        settings["Stevedore:Worker:Driver"] = "fake";
        settings["Stevedore:Worker:Slots"] = Slots.ToString(System.Globalization.CultureInfo.InvariantCulture);
        await using var app = await BenchEnvironment.StartHostAsync(settings);
        var jobs = app.Services.GetRequiredService<JobService>();
        var tasks = app.Services.GetRequiredService<TaskService>();
        var store = app.Services.GetRequiredService<ITaskStore>();

        // Enqueue alone: batches into a paused job.
        await jobs.PutAsync("held", new JobDraft { Image = "fake/ok" });
        await jobs.SetPausedAsync("held", true);
        await EnqueueAsync(tasks, "held", Batch); // warm-up
        var sw = Stopwatch.StartNew();
        await EnqueueAsync(tasks, "held", n);
        Report.Figure($"control.{backend}.enqueue_batch_per_s", n / sw.Elapsed.TotalSeconds);

        // The whole lifecycle: enqueue → lease → run → finish → state written. Warm up first, long enough for
        // tiered compilation to have compiled the hot paths fully.
        await jobs.PutAsync("noop", new JobDraft { Image = "fake/ok" });
        var warmUp = Math.Max(Batch, n / 4);
        await EnqueueAsync(tasks, "noop", warmUp);
        await WaitFinishedAsync(store, "noop", warmUp);
        sw.Restart();
        await EnqueueAsync(tasks, "noop", n);
        await WaitFinishedAsync(store, "noop", n + warmUp);
        Report.Figure($"control.{backend}.tasks_per_s", n / sw.Elapsed.TotalSeconds);

        if (backend == "memory")
        {
            Report.Figure("control.enqueue_batch_per_s", Report.Get("control.memory.enqueue_batch_per_s")!.Value);
            await DispatchLatencyAsync(app, jobs, tasks);
        }

        await app.StopAsync();
    }

    /// <summary>Idle dispatch: enqueue → the driver is asked to start the container, one task at a time.</summary>
    private static async Task DispatchLatencyAsync(WebApplication app, JobService jobs, TaskService tasks)
    {
        var driver = app.Services.GetRequiredService<FakeContainerDriver>();
        await jobs.PutAsync("latency", new JobDraft { Image = "fake/ok" });
        var samples = new List<double>();
        for (var i = 0; i < 220; i++)
        {
            var started = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
            void OnStarted(Execution.ContainerRunRequest r) => started.TrySetResult(Stopwatch.GetTimestamp());
            driver.Started += OnStarted;
            var before = Stopwatch.GetTimestamp();
            var result = await tasks.EnqueueAsync("latency", new TaskDraft());
            var at = await started.Task.WaitAsync(TimeSpan.FromSeconds(10));
            driver.Started -= OnStarted;
            if (i >= 20)
            {
                samples.Add(Stopwatch.GetElapsedTime(before, at).TotalMilliseconds);
            }

            // Let it finish so the next one starts on an idle node.
            var grain = app.Services.GetRequiredService<IGrainFactory>().GetGrain<ITaskGrain>(result.Value!.Task.Id);
            while ((await grain.GetAsync())?.Status.IsTerminal() != true)
            {
                await Task.Delay(1);
            }
        }

        Report.Figure("dispatch.p50_ms", Report.Percentile(samples, 0.5));
        Report.Figure("dispatch.p99_ms", Report.Percentile(samples, 0.99));
    }

    public static async Task EnqueueAsync(TaskService tasks, string job, int n)
    {
        for (var done = 0; done < n; done += Batch)
        {
            var count = Math.Min(Batch, n - done);
            var result = await tasks.EnqueueBatchAsync(job, Enumerable.Repeat(new TaskDraft(), count).ToList());
            if (!result.Ok)
            {
                throw new InvalidOperationException(result.Error!.Detail);
            }
        }
    }

    private static async Task WaitFinishedAsync(ITaskStore store, string job, int n)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var counts = await store.CountByStatusAsync(job);
            var ended = counts[TaskRunStatus.Succeeded] + counts[TaskRunStatus.Failed] + counts[TaskRunStatus.TimedOut] + counts[TaskRunStatus.Cancelled];
            if (ended >= n)
            {
                if (counts[TaskRunStatus.Succeeded] < n)
                {
                    throw new InvalidOperationException($"only {counts[TaskRunStatus.Succeeded]} of {n} tasks succeeded");
                }

                return;
            }

            if (deadline.Elapsed > TimeSpan.FromMinutes(10))
            {
                throw new TimeoutException($"{ended} of {n} tasks ended in 10 minutes");
            }

            await Task.Delay(10);
        }
    }

    public static async Task MemoryAsync(bool quick)
    {
        var n = quick ? 20_000 : 200_000;
        await using var app = await BenchEnvironment.StartHostAsync(new()
        {
            ["Stevedore:Worker:Driver"] = "fake",
            ["Stevedore:Storage"] = "Memory",
        });
        var jobs = app.Services.GetRequiredService<JobService>();
        var tasks = app.Services.GetRequiredService<TaskService>();
        await jobs.PutAsync("queued", new JobDraft { Image = "fake/ok" });
        await jobs.SetPausedAsync("queued", true);
        await EnqueueAsync(tasks, "queued", Batch);

        var heapBefore = Settle();
        var rssBefore = BenchEnvironment.RssBytes();
        await EnqueueAsync(tasks, "queued", n);
        var heapAfter = Settle();
        var rssAfter = BenchEnvironment.RssBytes();

        Report.Figure("memory.bytes_per_queued_task", (double)(heapAfter - heapBefore) / n);
        Report.Figure("memory.rss_bytes_per_queued_task", (double)(rssAfter - rssBefore) / n);
        Report.Note($"memory: {n} queued tasks (paused job, empty payloads) in one silo; managed heap and RSS growth per task");
        await app.StopAsync();
    }

    private static long Settle()
    {
        for (var i = 0; i < 3; i++)
        {
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
        }

        return GC.GetTotalMemory(forceFullCollection: true);
    }
}

using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Stevedore.Application;
using Stevedore.Execution.Fake;
using Stevedore.Storage;

namespace Stevedore.Benchmarks;

/// <summary>The control plane alone, embedded (memory storage): the whole task lifecycle with the in-process fake driver.</summary>
public static class ControlPlaneScenarios
{
    public const int Slots = 64;

    /// <summary>Slices of a round's batch lifecycle and its grain calls, measured alternately.</summary>
    private const int PairedSlices = 4;

    /// <summary>
    /// Rounds of: the whole lifecycle with batch enqueues, the same with single enqueues, and plain grain calls on the
    /// same silo — the yardstick for <c>control.memory.vs_grain_calls</c> (tasks/s over round trips/s, per round).
    /// </summary>
    public static async Task MemoryAsync(bool quick)
    {
        var rounds = quick ? 2 : 5;
        var n = quick ? 3000 : 60_000;
        var single = quick ? 2000 : 30_000;
        var calls = quick ? 100_000 : 1_000_000;
        await using var app = await StartFakeHostAsync(new() { ["Stevedore:Storage"] = "Memory" });
        var jobs = app.Services.GetRequiredService<JobService>();
        var tasks = app.Services.GetRequiredService<TaskService>();
        var store = app.Services.GetRequiredService<ITaskStore>();
        var grains = app.Services.GetRequiredService<IGrainFactory>();

        // Enqueue alone: batches into a paused job.
        await jobs.PutAsync("held", new JobDraft { Image = "fake/ok" });
        await jobs.SetPausedAsync("held", true);
        await Lifecycle.EnqueueBatchAsync(tasks, "held", Lifecycle.Batch); // warm-up
        var sw = Stopwatch.StartNew();
        await Lifecycle.EnqueueBatchAsync(tasks, "held", n);
        Report.Figure("control.memory.enqueue_batch_per_s", n / sw.Elapsed.TotalSeconds);

        // The same warm-up for every contender, then the rounds.
        await RunLifecycleAsync(jobs, tasks, store, "warm-batch", n / 4, batch: true);
        await RunLifecycleAsync(jobs, tasks, store, "warm-single", n / 4, batch: false);
        await GrainCalls.RoundTripsPerSecondAsync(grains, calls / 4);
        // Besides the rates, this process's CPU time per task and per call: work per unit, which a busy neighbour on
        // the machine slows down far less than it slows down a rate.
        var cpu = new Dictionary<string, List<double>> { ["batch"] = [], ["calls"] = [] };
        var callRates = new List<double>();
        var results = await Interleave.RoundsAsync(rounds,
            ("batch", PairedAsync),
            ("single", r => RunLifecycleAsync(jobs, tasks, store, $"single-{r}", single, batch: false)));
        results = new Dictionary<string, List<double>>(results) { ["calls"] = callRates };

        // A round's batch lifecycle and its plain grain calls alternate in slices, rather than run one after the other:
        // a change in the machine's speed within a round (frequent on a shared machine: the calls' rate moved 1.8 ×
        // between rounds of one run) then moves both alike and leaves their ratio, the figure, where it was.
        async Task<double> PairedAsync(int round)
        {
            double batchSeconds = 0, callSeconds = 0, batchCpu = 0, callCpu = 0;
            for (var slice = 0; slice < PairedSlices; slice++)
            {
                var used = new List<double>();
                async Task BatchAsync()
                {
                    batchSeconds += n / PairedSlices / await RunLifecycleAsync(jobs, tasks, store, $"batch-{round}-{slice}", n / PairedSlices, batch: true, used);
                    batchCpu += used[^1] / PairedSlices;
                }

                async Task CallsAsync()
                {
                    callSeconds += calls / PairedSlices / await GrainCalls.RoundTripsPerSecondAsync(grains, calls / PairedSlices, used);
                    callCpu += used[^1] / PairedSlices;
                }

                // Each goes first in half the slices.
                if (slice % 2 == 0)
                {
                    await BatchAsync();
                    await CallsAsync();
                }
                else
                {
                    await CallsAsync();
                    await BatchAsync();
                }
            }

            cpu["batch"].Add(batchCpu);
            cpu["calls"].Add(callCpu);
            callRates.Add(calls / callSeconds);
            return n / batchSeconds;
        }

        Report.Rounds("control.memory.tasks_per_s", results["batch"]);
        Report.Rounds("control.memory.single.tasks_per_s", results["single"]);
        Report.Rounds("control.memory.grain_calls_per_s", results["calls"]);
        Report.Rounds("control.memory.vs_grain_calls", Interleave.Ratios(results["batch"], results["calls"]));
        Report.Rounds("control.memory.single_vs_grain_calls", Interleave.Ratios(results["single"], results["calls"]));
        Report.Rounds("control.memory.cpu_us_per_task", cpu["batch"]);
        Report.Rounds("control.memory.cpu_us_per_grain_call", cpu["calls"]);
        Report.Rounds("control.memory.task_in_grain_calls_cpu", Interleave.Ratios(cpu["batch"], cpu["calls"]));
        Report.Note($"control memory: {rounds} rounds of {n} tasks enqueued {Lifecycle.Batch} per call, {single} tasks enqueued one per call from " +
            $"{Lifecycle.Callers} callers (enqueue → lease → run → finish → state written), and {calls} ping grain calls from 64 callers, the " +
            $"batch tasks and the calls in {PairedSlices} alternating slices each; " +
            $"fake driver, {Slots} slots; vs_grain_calls = tasks/s ÷ grain round trips/s of the same round; cpu_us_per_* = this process's " +
            "CPU time (user + system, all threads) per batch-enqueued task and per ping call, task_in_grain_calls_cpu = their ratio per round");
        Report.Figure("control.enqueue_batch_per_s", Report.Get("control.memory.enqueue_batch_per_s")!.Value);
        await DispatchLatencyAsync(app, jobs, tasks);
        await app.StopAsync();
    }

    /// <summary>One lifecycle measurement on a job of its own: enqueue <paramref name="n"/> tasks, wait until all are stored as finished.</summary>
    /// <param name="cpu">When given, gets this process's CPU microseconds per task.</param>
    public static async Task<double> RunLifecycleAsync(JobService jobs, TaskService tasks, ITaskStore store, string job, int n, bool batch, List<double>? cpu = null)
    {
        await jobs.PutAsync(job, new JobDraft { Image = "fake/ok" });
        BenchEnvironment.Quiesce();
        var cpuBefore = BenchEnvironment.ProcessCpu();
        var sw = Stopwatch.StartNew();
        await (batch ? Lifecycle.EnqueueBatchAsync(tasks, job, n) : Lifecycle.EnqueueSingleAsync(tasks, job, n));
        await Lifecycle.WaitFinishedAsync(Lifecycle.StoreCounter(store, job), n, $"tasks of {job}");
        var rate = n / sw.Elapsed.TotalSeconds;
        cpu?.Add((BenchEnvironment.ProcessCpu() - cpuBefore).TotalMicroseconds / n);
        return rate;
    }

    public static Task<WebApplication> StartFakeHostAsync(Dictionary<string, string?> settings)
    {
        settings["Stevedore:Worker:Driver"] = "fake";
        settings["Stevedore:Worker:Slots"] = Slots.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return BenchEnvironment.StartHostAsync(settings);
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
            var store = app.Services.GetRequiredService<Storage.ITaskStore>();
            while ((await store.GetAsync(result.Value!.Task.Id))?.Status.IsTerminal() != true)
            {
                await Task.Delay(1);
            }
        }

        Report.Figure("dispatch.p50_ms", Report.Percentile(samples, 0.5));
        Report.Figure("dispatch.p99_ms", Report.Percentile(samples, 0.99));
    }

    /// <summary>Memory per queued task: a paused job holding many tasks in one silo.</summary>
    public static async Task QueuedMemoryAsync(bool quick)
    {
        var n = quick ? 20_000 : 200_000;
        await using var app = await StartFakeHostAsync(new() { ["Stevedore:Storage"] = "Memory" });
        var jobs = app.Services.GetRequiredService<JobService>();
        var tasks = app.Services.GetRequiredService<TaskService>();
        await jobs.PutAsync("queued", new JobDraft { Image = "fake/ok" });
        await jobs.SetPausedAsync("queued", true);
        await Lifecycle.EnqueueBatchAsync(tasks, "queued", Lifecycle.Batch);

        var heapBefore = Settle();
        var rssBefore = BenchEnvironment.RssBytes();
        await Lifecycle.EnqueueBatchAsync(tasks, "queued", n);
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
            BenchEnvironment.Quiesce();
        }

        return GC.GetTotalMemory(forceFullCollection: true);
    }
}

using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Stevedore.Application;
using Stevedore.Storage;

namespace Stevedore.Benchmarks;

/// <summary>
/// The durable control plane against Hangfire on the same PostgreSQL (fsync on), as a fair race: the same single
/// enqueues from the same number of callers, the same warm-up, the same "finished" check (the final state is in the
/// database), and interleaved rounds. Stevedore's batch enqueue is reported apart, against the same Hangfire rounds.
/// </summary>
public static class ControlPostgresScenario
{
    public static async Task RunAsync(bool quick)
    {
        var rounds = quick ? 2 : 5;
        var n = quick ? 300 : 2000;
        var batchN = quick ? 2000 : 10_000;
        var warmUp = quick ? 200 : 500;

        var cs = await BenchEnvironment.FreshDatabaseAsync("bench_control");
        await using var app = await ControlPlaneScenarios.StartFakeHostAsync(new() { ["Stevedore:Storage"] = "Postgres", ["ConnectionStrings:Postgres"] = cs });
        var jobs = app.Services.GetRequiredService<JobService>();
        var tasks = app.Services.GetRequiredService<TaskService>();
        var store = app.Services.GetRequiredService<ITaskStore>();

        // Enqueue alone: batches into a paused job.
        await jobs.PutAsync("held", new JobDraft { Image = "fake/ok" });
        await jobs.SetPausedAsync("held", true);
        await Lifecycle.EnqueueBatchAsync(tasks, "held", Lifecycle.Batch);
        var sw = Stopwatch.StartNew();
        await Lifecycle.EnqueueBatchAsync(tasks, "held", batchN);
        Report.Figure("control.postgres.enqueue_batch_per_s", batchN / sw.Elapsed.TotalSeconds);

        // The same warm-up on both sides: warmUp single enqueues through the whole lifecycle (and Stevedore's batch
        // path too). In the full run Hangfire's warm-up also picks its better configuration for the rounds.
        await ControlPlaneScenarios.RunLifecycleAsync(jobs, tasks, store, "warm-single", warmUp, batch: false);
        await ControlPlaneScenarios.RunLifecycleAsync(jobs, tasks, store, "warm-batch", warmUp, batch: true);
        await using var defaults = await HangfireContender.DefaultsAsync();
        await using var fast = quick ? null : await HangfireContender.FastAsync();
        var hangfire = defaults;
        var defaultsWarm = await defaults.RunAsync(warmUp);
        if (fast is not null)
        {
            var fastWarm = await fast.RunAsync(warmUp);
            Report.Note($"hangfire warm-up: defaults {defaultsWarm:0} jobs/s, fast (1 ms polling, long polling, 64 workers) {fastWarm:0} jobs/s");
            hangfire = fastWarm > defaultsWarm ? fast : defaults;
        }

        var results = await Interleave.RoundsAsync(rounds,
            ("single", r => ControlPlaneScenarios.RunLifecycleAsync(jobs, tasks, store, $"single-{r}", n, batch: false)),
            ("hangfire", _ => hangfire.RunAsync(n)),
            ("batch", r => ControlPlaneScenarios.RunLifecycleAsync(jobs, tasks, store, $"batch-{r}", batchN, batch: true)));

        Report.Rounds("control.postgres.single.tasks_per_s", results["single"]);
        Report.Rounds("control.postgres.batch.tasks_per_s", results["batch"]);
        Report.Rounds("hangfire.jobs_per_s", results["hangfire"]);
        Report.Rounds("control.postgres_vs_hangfire", Interleave.Ratios(results["single"], results["hangfire"]));
        Report.Rounds("control.postgres_batch_vs_hangfire", Interleave.Ratios(results["batch"], results["hangfire"]));
        Report.Note($"control postgres: {rounds} rounds of {n} single enqueues from {Lifecycle.Callers} callers on each side (Stevedore, and Hangfire " +
            $"'{hangfire.Name}'), and {batchN} Stevedore tasks in calls of {Lifecycle.Batch}; warm-up {warmUp} each; clocks stop when the " +
            "database shows every final state; control.postgres_vs_hangfire = single vs single, control.postgres_batch_vs_hangfire = batch vs " +
            "Hangfire's single (it has no batch enqueue); ratios per round");

        var latencies = await hangfire.StartLatenciesAsync(quick ? 5 : 30);
        Report.Figure("hangfire.start_latency_p50_ms", Report.Percentile(latencies, 0.5));
        await app.StopAsync();
    }
}

using Microsoft.Extensions.DependencyInjection;
using Stevedore.Application;
using Stevedore.Grains;
using Stevedore.Storage;

namespace Stevedore.UnitTests.Grains;

/// <summary>Attempts whose worker vanished: they run again, but not forever.</summary>
[Collection(ClusterCollection.Name)]
public class LostWorkerTests(ClusterFixture fx)
{
    /// <summary>A task recorded as running on a node that is gone (no worker here holds it), as a crash leaves it.</summary>
    private async Task<TaskRecord> RunningOnAGoneNodeAsync(string job, int lapsedBefore)
    {
        var now = DateTimeOffset.UtcNow;
        var id = TaskIds.New(now);
        var queued = new TaskRecord
        {
            Id = id, Job = job, JobVersion = 1, Status = TaskRunStatus.Queued, MaxAttempts = 1, CreatedAt = now,
            Partition = TaskIds.PartitionOf(id, Stevedore.Options.QueueOptions.DefaultPartitions), LapsedLeases = lapsedBefore,
        };
        var running = TaskTransitions.Start(queued, "gone-node", (await fx.Jobs.GetAsync(job)).Value!, now)!;
        var store = fx.Services.GetRequiredService<ITaskStore>();
        Assert.Empty(await store.InsertAsync([running]));
        return running;
    }

    [Fact]
    public async Task ALapsedLease_RunsTheTaskAgain_WithoutUsingARetry()
    {
        await fx.PutJobAsync("lapses-once", new JobDraft { Image = "fake/ok" });
        var task = await RunningOnAGoneNodeAsync("lapses-once", lapsedBefore: 0);

        await fx.Grains.Partition(task.Partition).ExpireLeaseAsync(task.Id, 1);
        var done = await fx.WaitForEndAsync(task.Id);

        Assert.Equal(TaskRunStatus.Succeeded, done.Status);
        Assert.Equal(2, done.Attempt);
        Assert.Equal(1, done.LapsedLeases);
        Assert.Contains("worker lost", done.Attempts[0].Error);
    }

    [Fact]
    public async Task TheThirdLapsedLease_FailsTheTask_NamingTheCause()
    {
        await fx.PutJobAsync("lapses-thrice", new JobDraft { Image = "fake/ok", Retries = 5 });
        var task = await RunningOnAGoneNodeAsync("lapses-thrice", lapsedBefore: TaskTransitions.MaxLapsedLeases - 1);

        await fx.Grains.Partition(task.Partition).ExpireLeaseAsync(task.Id, 1);
        var done = await fx.WaitForEndAsync(task.Id);

        Assert.Equal(TaskRunStatus.Failed, done.Status);
        Assert.Equal(1, done.Attempt);
        Assert.Contains($"lost {TaskTransitions.MaxLapsedLeases} times", done.Error);
        Assert.Contains("gone-node", done.Error);
    }

    [Fact]
    public async Task ARunSlotWhoseReleaseNeverCame_IsFreedAgain()
    {
        await fx.PutJobAsync("leaky", new JobDraft { Image = "fake/ok", MaxConcurrency = 1 });
        // A slot taken for a task whose report was lost with its silo: no such task runs.
        var phantom = TaskIds.New(DateTimeOffset.UtcNow);
        Assert.Equal(AcquireOutcome.Acquired, (await fx.Cluster.Client.GetGrain<IJobGrain>("leaky").TryAcquireAsync(phantom, 0, 0)).Outcome);

        var task = await fx.EnqueueAsync("leaky");

        Assert.Equal(TaskRunStatus.Succeeded, (await fx.AdvanceUntilEndedAsync(task.Id, TimeSpan.FromSeconds(1))).Status);
    }
}

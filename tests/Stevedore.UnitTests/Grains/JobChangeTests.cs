using Stevedore.Application;

namespace Stevedore.UnitTests.Grains;

/// <summary>
/// A job change (PUT, pause, delete) between a task's lease and its start: once the change has answered, no task
/// starts with the old definition. The test plays a worker that leased a task and is slow to start it.
/// </summary>
[Collection(ClusterCollection.Name)]
public class JobChangeTests(ClusterFixture fx)
{
    /// <summary>Keeps every slot of the test node busy, so only the test's own "worker" leases.</summary>
    private async Task<List<string>> FillSlotsAsync()
    {
        await fx.PutJobAsync("slot-filler", new JobDraft { Image = "fake/hold" });
        var holds = new List<string>();
        for (var i = 0; i < ClusterFixture.Slots; i++)
        {
            var hold = await fx.EnqueueAsync("slot-filler");
            await fx.Driver.WhenStarted(hold.Id).WaitAsync(TimeSpan.FromSeconds(20));
            holds.Add(hold.Id);
        }

        return holds;
    }

    private async Task FreeSlotsAsync(List<string> holds)
    {
        foreach (var id in holds)
        {
            fx.Driver.Release(id);
            await fx.WaitForEndAsync(id);
        }
    }

    /// <summary>Enqueues a task and leases it as a slow worker would.</summary>
    private async Task<(TaskRecord Task, LeasedTask Leased)> LeaseAsync(string job)
    {
        var task = await fx.EnqueueAsync(job, new TaskDraft { Priority = 2 });
        var batch = await fx.Cluster.Client.GetGrain<IQueuePartitionGrain>(task.Partition).LeaseAsync("slow-node", 1, 0);
        var leased = Assert.Single(batch.Tasks);
        Assert.Equal(task.Id, leased.TaskId);
        return (task, leased);
    }

    [Fact]
    public async Task StartLeasedBeforeAPut_IsRefused_AndTheTaskRunsWithTheNewDefinition()
    {
        await fx.PutJobAsync("changed", new JobDraft { Image = "fake/ok" });
        var holds = await FillSlotsAsync();
        var (task, leased) = await LeaseAsync("changed");
        Assert.Equal(1, leased.Job.Version);

        await fx.PutJobAsync("changed", new JobDraft { Image = "fake/ok", Env = new Dictionary<string, string> { ["V"] = "2" } });

        Assert.Null(await fx.Cluster.Client.GetGrain<ITaskGrain>(task.Id).StartAsync("slow-node", leased.Job));
        await FreeSlotsAsync(holds);
        var done = await fx.WaitForEndAsync(task.Id);
        Assert.Equal(TaskRunStatus.Succeeded, done.Status);
        Assert.Equal(2, done.JobVersion);
        Assert.Equal("test-node", done.Node);
        Assert.Equal(1, done.Attempt);
    }

    [Fact]
    public async Task StartsLeasedBeforeTheCapIsLowered_AreRefused_AndTheTasksRunOneAtATime()
    {
        await fx.PutJobAsync("lowered", new JobDraft { Image = "fake/ok", MaxConcurrency = 2 });
        var holds = await FillSlotsAsync();
        var (first, firstLease) = await LeaseAsync("lowered");
        var (second, secondLease) = await LeaseAsync("lowered");

        await fx.PutJobAsync("lowered", new JobDraft { Image = "fake/ok", MaxConcurrency = 1 });

        Assert.Null(await fx.Cluster.Client.GetGrain<ITaskGrain>(first.Id).StartAsync("slow-node", firstLease.Job));
        Assert.Null(await fx.Cluster.Client.GetGrain<ITaskGrain>(second.Id).StartAsync("slow-node", secondLease.Job));
        await FreeSlotsAsync(holds);
        var runs = new List<AttemptRecord>();
        foreach (var id in new[] { first.Id, second.Id })
        {
            var done = await fx.WaitForEndAsync(id);
            Assert.Equal(TaskRunStatus.Succeeded, done.Status);
            Assert.Equal(2, done.JobVersion);
            runs.Add(Assert.Single(done.Attempts));
        }

        runs.Sort((a, b) => a.StartedAt.CompareTo(b.StartedAt));
        Assert.True(runs[0].FinishedAt <= runs[1].StartedAt, $"with maxConcurrency 1 the runs overlapped: {runs[0]} and {runs[1]}");
    }

    [Fact]
    public async Task StartLeasedBeforeAPause_IsRefused_AndTheTaskWaitsForTheResume()
    {
        await fx.PutJobAsync("paused-later", new JobDraft { Image = "fake/ok", MaxConcurrency = 1 });
        var holds = await FillSlotsAsync();
        var (task, leased) = await LeaseAsync("paused-later");

        await fx.Jobs.SetPausedAsync("paused-later", true);

        Assert.Null(await fx.Cluster.Client.GetGrain<ITaskGrain>(task.Id).StartAsync("slow-node", leased.Job));
        await FreeSlotsAsync(holds);
        await fx.PutJobAsync("slot-filler-ok", new JobDraft { Image = "fake/ok" });
        for (var i = 0; i < ClusterFixture.Slots * 2; i++)
        {
            await fx.WaitForEndAsync((await fx.EnqueueAsync("slot-filler-ok")).Id);
        }

        Assert.Equal(TaskRunStatus.Queued, (await fx.GetAsync(task.Id)).Status);
        await fx.Jobs.SetPausedAsync("paused-later", false);
        Assert.Equal(TaskRunStatus.Succeeded, (await fx.WaitForEndAsync(task.Id)).Status);
    }

    [Fact]
    public async Task StartLeasedBeforeADelete_IsRefused_AndTheTaskFailsNamingTheDelete()
    {
        await fx.PutJobAsync("deleted-later", new JobDraft { Image = "fake/ok" });
        var holds = await FillSlotsAsync();
        var (task, leased) = await LeaseAsync("deleted-later");

        Assert.True((await fx.Jobs.DeleteAsync("deleted-later")).Ok);

        Assert.Null(await fx.Cluster.Client.GetGrain<ITaskGrain>(task.Id).StartAsync("slow-node", leased.Job));
        await FreeSlotsAsync(holds);
        var done = await fx.WaitForEndAsync(task.Id);
        Assert.Equal(TaskRunStatus.Failed, done.Status);
        Assert.Contains("deleted", done.Error);
        Assert.Equal(0, done.Attempt);
    }
}

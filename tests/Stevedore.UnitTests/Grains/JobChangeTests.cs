using Stevedore.Application;

namespace Stevedore.UnitTests.Grains;

/// <summary>
/// A job change (PUT, pause, delete) against a partition that holds the job's pass (it started a task of the job on
/// it): once the change has answered, no task starts with the old definition. The test plays a second worker node
/// that leases from one partition while the test node's slots are all busy.
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

    /// <summary>
    /// Starts a task of <paramref name="job"/> on "other-node" (the partition now holds the job's pass) and reports it
    /// done; returns a second task of the job queued in the same partition.
    /// </summary>
    private async Task<(RunAssignment First, TaskRecord Next)> PassHeldAsync(string job)
    {
        var first = await fx.EnqueueAsync(job, new TaskDraft { Priority = 2 });
        var partition = fx.Grains.Partition(first.Partition);
        var started = Assert.Single((await partition.LeaseAsync("other-node", 1, 0)).Tasks);
        Assert.Equal(first.Id, started.TaskId);
        Assert.Equal(first.Partition, started.Partition);
        var done = await partition.CompleteAsync(first.Id, started.Attempt, new RunOutcome { Status = TaskRunStatus.Succeeded, ExitCode = 0 });
        Assert.Equal(TaskRunStatus.Succeeded, done?.Status);
        for (var i = 0; i < 200; i++)
        {
            var next = await fx.EnqueueAsync(job, new TaskDraft { Priority = 2 });
            if (next.Partition == first.Partition)
            {
                return (started, next);
            }
        }

        throw new InvalidOperationException("no task landed in the partition in 200 tries");
    }

    [Fact]
    public async Task AfterAPut_ThePartitionStartsTasksWithTheNewDefinition()
    {
        await fx.PutJobAsync("changed", new JobDraft { Image = "fake/ok" });
        var holds = await FillSlotsAsync();
        var (first, next) = await PassHeldAsync("changed");
        Assert.Equal(1, first.Job.Version);

        await fx.PutJobAsync("changed", new JobDraft { Image = "fake/ok", Env = new Dictionary<string, string> { ["V"] = "2" } });

        var started = Assert.Single((await fx.Grains.Partition(next.Partition).LeaseAsync("other-node", 1, 0)).Tasks);
        Assert.Equal(next.Id, started.TaskId);
        Assert.Equal(2, started.Job.Version);
        Assert.Equal("2", started.Job.Spec.Env["V"]);
        Assert.Equal(2, (await fx.GetAsync(next.Id)).JobVersion);
        await fx.Grains.Partition(next.Partition).CompleteAsync(next.Id, started.Attempt, new RunOutcome { Status = TaskRunStatus.Succeeded, ExitCode = 0 });
        await FreeSlotsAsync(holds);
    }

    [Fact]
    public async Task AfterAPause_ThePartitionStartsNothing_AndTheTaskWaitsForTheResume()
    {
        await fx.PutJobAsync("paused-later", new JobDraft { Image = "fake/ok" });
        var holds = await FillSlotsAsync();
        var (_, next) = await PassHeldAsync("paused-later");

        await fx.Jobs.SetPausedAsync("paused-later", true);

        Assert.Empty((await fx.Grains.Partition(next.Partition).LeaseAsync("other-node", 1, 0)).Tasks);
        await FreeSlotsAsync(holds);
        await fx.PutJobAsync("slot-filler-ok", new JobDraft { Image = "fake/ok" });
        for (var i = 0; i < ClusterFixture.Slots * 2; i++)
        {
            await fx.WaitForEndAsync((await fx.EnqueueAsync("slot-filler-ok")).Id);
        }

        Assert.Equal(TaskRunStatus.Queued, (await fx.GetAsync(next.Id)).Status);
        await fx.Jobs.SetPausedAsync("paused-later", false);
        Assert.Equal(TaskRunStatus.Succeeded, (await fx.WaitForEndAsync(next.Id)).Status);
    }

    [Fact]
    public async Task AfterADelete_ThePartitionStartsNothing_AndTheTaskFailsNamingTheDelete()
    {
        await fx.PutJobAsync("deleted-later", new JobDraft { Image = "fake/ok" });
        var holds = await FillSlotsAsync();
        var (_, next) = await PassHeldAsync("deleted-later");

        Assert.True((await fx.Jobs.DeleteAsync("deleted-later")).Ok);

        Assert.Empty((await fx.Grains.Partition(next.Partition).LeaseAsync("other-node", 1, 0)).Tasks);
        var done = await fx.GetAsync(next.Id);
        Assert.Equal(TaskRunStatus.Failed, done.Status);
        Assert.Contains("deleted", done.Error);
        Assert.Equal(0, done.Attempt);
        await FreeSlotsAsync(holds);
    }

    [Fact]
    public async Task AnOutcomeReportedTwice_IsRecordedOnce()
    {
        await fx.PutJobAsync("reported-twice", new JobDraft { Image = "fake/ok", Retries = 1, RetryDelaySeconds = 3600 });
        var holds = await FillSlotsAsync();
        var task = await fx.EnqueueAsync("reported-twice", new TaskDraft { Priority = 2 });
        var partition = fx.Grains.Partition(task.Partition);
        var started = Assert.Single((await partition.LeaseAsync("other-node", 1, 0)).Tasks);

        var failed = new RunOutcome { Status = TaskRunStatus.Failed, ExitCode = 1 };
        var first = await partition.CompleteAsync(task.Id, started.Attempt, failed);
        var again = await partition.CompleteAsync(task.Id, started.Attempt, failed);

        Assert.Equal(TaskRunStatus.Queued, first?.Status);
        Assert.Equal(TaskRunStatus.Queued, again?.Status);
        Assert.Equal(first!.RunAfter, again!.RunAfter);
        var stored = await fx.GetAsync(task.Id);
        Assert.Equal(1, stored.Attempt);
        Assert.Single(stored.Attempts);
        Assert.Equal(TaskRunStatus.Queued, stored.Status);
        Assert.Equal(CancelOutcome.Cancelled, (await partition.CancelAsync(task.Id)).Outcome);
        await FreeSlotsAsync(holds);
    }
}

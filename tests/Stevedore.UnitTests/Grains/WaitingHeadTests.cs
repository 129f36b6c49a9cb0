using Stevedore.Application;

namespace Stevedore.UnitTests.Grains;

/// <summary>
/// Priority across partitions keeps a job's free run slot for the best task waiting in any partition (its head). A
/// head that stops waiting (cancelled, or its job changed) must stop holding the slot at once: on the fake clock the
/// claim window never lapses on its own, so a stale head would stall the job for good.
/// </summary>
[Collection(ClusterCollection.Name)]
public class WaitingHeadTests(ClusterFixture fx)
{
    private int Partitions => fx.Queue.Partitions;

    /// <summary>The partition asked the job grain for a slot for the task and was told the job is paused.</summary>
    private Task RefusedForThePauseAsync(string taskId) =>
        Wait.ForAsync(fx.Calls.WhenCalled<IJobGrain>(nameof(IJobGrain.TryAcquireAsync),
                c => (string)c.Arguments[0]! == taskId && ((AcquireResult)c.Result!).Outcome == AcquireOutcome.Paused),
            $"the partition to offer task {taskId} and set it aside for the pause");

    /// <summary>Enqueues until a task lands in a partition other than <paramref name="avoid"/>; the others are cancelled.</summary>
    private async Task<TaskRecord> EnqueueOutsideAsync(string job, int priority, int avoid)
    {
        while (true)
        {
            var task = await fx.EnqueueAsync(job, new TaskDraft { Priority = priority });
            if (task.Partition != avoid)
            {
                return task;
            }

            await CancelAsync(task.Id);
        }
    }

    private async Task CancelAsync(string taskId)
    {
        Assert.True((await fx.Tasks.CancelAsync(taskId)).Ok);
        await Wait.ForAsync(fx.Calls.WhenCalled<IQueuePartitionGrain>(nameof(IQueuePartitionGrain.CancelAsync),
                c => (string)c.Arguments[0]! == taskId && ((CancelResult)c.Result!).Outcome == CancelOutcome.Cancelled),
            $"the partition to drop cancelled task {taskId}");
    }

    [Fact]
    public async Task TheBestHeadCancelled_ALowerPriorityTaskInAnotherPartitionStarts_WithoutTheClockMoving()
    {
        await fx.PutJobAsync("stale-head", new JobDraft { Image = "fake/ok", MaxConcurrency = 1 });
        await fx.Jobs.SetPausedAsync("stale-head", true);
        var best = await fx.EnqueueAsync("stale-head", new TaskDraft { Priority = 2 });
        var low = await EnqueueOutsideAsync("stale-head", priority: 0, avoid: best.Partition);
        await RefusedForThePauseAsync(best.Id);
        await RefusedForThePauseAsync(low.Id);
        Assert.NotEqual(TaskIds.PartitionOf(best.Id, Partitions), TaskIds.PartitionOf(low.Id, Partitions));

        await CancelAsync(best.Id);
        await fx.Jobs.SetPausedAsync("stale-head", false);

        // No clock advance: the slot must not stay kept for the cancelled task until its claim window lapses.
        var done = await fx.WaitForEndAsync(low.Id);
        Assert.Equal(TaskRunStatus.Succeeded, done.Status);
        Assert.Equal(TaskRunStatus.Cancelled, (await fx.GetAsync(best.Id)).Status);
    }

    [Fact]
    public async Task AJobDeletedAndMadeAgain_KeepsNoSlotForATaskOfTheOldOne()
    {
        await fx.PutJobAsync("reborn", new JobDraft { Image = "fake/ok", MaxConcurrency = 1 });
        await fx.Jobs.SetPausedAsync("reborn", true);
        var old = await fx.EnqueueAsync("reborn", new TaskDraft { Priority = 2 });
        await RefusedForThePauseAsync(old.Id);
        Assert.True((await fx.Jobs.DeleteAsync("reborn")).Ok);
        Assert.Equal(TaskRunStatus.Failed, (await fx.WaitForEndAsync(old.Id)).Status);

        await fx.PutJobAsync("reborn", new JobDraft { Image = "fake/ok", MaxConcurrency = 1 });
        var task = await EnqueueOutsideAsync("reborn", priority: 0, avoid: old.Partition);

        Assert.Equal(TaskRunStatus.Succeeded, (await fx.WaitForEndAsync(task.Id)).Status);
    }
}

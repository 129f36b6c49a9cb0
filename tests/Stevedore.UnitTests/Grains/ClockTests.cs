using Stevedore.Application;

namespace Stevedore.UnitTests.Grains;

/// <summary>
/// What happens with time — delays, retry backoff, timeouts, leases, the idempotency window — on the cluster's fake
/// clock: each test moves the clock itself, so nothing waits for real time and every instant can be checked exactly.
/// </summary>
[Collection(ClusterCollection.Name)]
public class ClockTests(ClusterFixture fx)
{
    private static readonly TimeSpan s_tick = TimeSpan.FromMilliseconds(1);

    [Fact]
    public async Task DelayedTask_StartsNoEarlierThanItsRunAfter()
    {
        await fx.PutJobAsync("later", new JobDraft { Image = "fake/ok" });
        var task = await fx.EnqueueAsync("later", new TaskDraft { DelaySeconds = 30 });
        Assert.Equal(task.CreatedAt.AddSeconds(30), task.RunAfter);

        fx.Clock.Advance(TimeSpan.FromSeconds(30) - s_tick);
        Assert.Equal(TaskRunStatus.Queued, (await fx.GetAsync(task.Id)).Status);
        fx.Clock.Advance(s_tick);
        var done = await fx.WaitForEndAsync(task.Id);

        Assert.Equal(TaskRunStatus.Succeeded, done.Status);
        // The clock stood still from the due time on: a start a tick early would show here.
        Assert.Equal(task.RunAfter, done.StartedAt);
    }

    [Fact]
    public async Task FailedAttempts_RunAgainAfterTheBackoff_DelayTimesBackoffToTheAttempt()
    {
        await fx.PutJobAsync("backoff", new JobDraft { Image = "fake/fail", Retries = 2, RetryDelaySeconds = 10, RetryBackoff = 3 });
        var task = await fx.EnqueueAsync("backoff");

        var first = await fx.WaitForAsync(task.Id, t => t.Attempt == 1 && t.Status == TaskRunStatus.Queued, "to wait for its second attempt");
        Assert.Equal(first.Attempts[0].FinishedAt!.Value.AddSeconds(10), first.RunAfter);
        fx.Clock.Advance(TimeSpan.FromSeconds(10) - s_tick);
        Assert.Equal(1, (await fx.GetAsync(task.Id)).Attempt);
        fx.Clock.Advance(s_tick);

        var second = await fx.WaitForAsync(task.Id, t => t.Attempt == 2 && t.Status == TaskRunStatus.Queued, "to wait for its third attempt");
        Assert.Equal(first.RunAfter, second.Attempts[1].StartedAt);
        Assert.Equal(second.Attempts[1].FinishedAt!.Value.AddSeconds(30), second.RunAfter);
        fx.Clock.Advance(TimeSpan.FromSeconds(30));

        var done = await fx.WaitForEndAsync(task.Id);
        Assert.Equal(TaskRunStatus.Failed, done.Status);
        Assert.Equal(3, done.Attempt);
        Assert.Equal(second.RunAfter, done.Attempts[2].StartedAt);
        Assert.Null(done.RunAfter);
    }

    [Fact]
    public async Task ARunPastItsTimeout_EndsTimedOut_AndIsRetriedLikeAFailure()
    {
        await fx.PutJobAsync("slowpoke", new JobDraft { Image = "fake/hold", Retries = 1, RetryDelaySeconds = 0, TimeoutSeconds = 3600 });
        var task = await fx.EnqueueAsync("slowpoke", new TaskDraft { TimeoutSeconds = 30 });
        await fx.WhenStartedAsync(task.Id);
        var startedAt = fx.Clock.GetUtcNow();

        fx.Clock.Advance(TimeSpan.FromSeconds(30) - s_tick);
        Assert.Equal(TaskRunStatus.Running, (await fx.GetAsync(task.Id)).Status);
        fx.Clock.Advance(s_tick);
        await fx.WhenStartedAsync(task.Id, attempt: 2);
        fx.Clock.Advance(TimeSpan.FromSeconds(30));
        var done = await fx.WaitForEndAsync(task.Id);

        Assert.Equal(TaskRunStatus.TimedOut, done.Status);
        Assert.Equal(2, done.Attempt);
        Assert.All(done.Attempts, a => Assert.Equal(TaskRunStatus.TimedOut, a.Status));
        Assert.Equal(startedAt.AddSeconds(30), done.Attempts[0].FinishedAt);
        Assert.Equal(startedAt.AddSeconds(60), done.FinishedAt);
        Assert.Equal("timed out", done.Error);
    }

    [Fact]
    public async Task IdempotencyKey_HoldsForItsWindow_ThenMakesANewTask()
    {
        await fx.PutJobAsync("idem-window", new JobDraft { Image = "fake/ok" });
        var window = fx.Queue.IdempotencyWindow;
        var first = await fx.Tasks.EnqueueAsync("idem-window", new TaskDraft { IdempotencyKey = "order-7" });

        fx.Clock.Advance(window);
        var within = await fx.Tasks.EnqueueAsync("idem-window", new TaskDraft { IdempotencyKey = "order-7" });
        fx.Clock.Advance(s_tick);
        var after = await fx.Tasks.EnqueueAsync("idem-window", new TaskDraft { IdempotencyKey = "order-7" });

        Assert.False(first.Value!.Existing);
        Assert.True(within.Value!.Existing);
        Assert.Equal(first.Value.Task.Id, within.Value.Task.Id);
        Assert.False(after.Value!.Existing);
        Assert.NotEqual(first.Value.Task.Id, after.Value.Task.Id);
        Assert.Equal(TaskRunStatus.Succeeded, (await fx.WaitForEndAsync(after.Value.Task.Id)).Status);
    }

    [Fact]
    public async Task ATaskWhoseNodeStopsRenewingItsLease_RunsAgainOnALiveNode_WithoutUsingARetry()
    {
        var blockers = await FillTheWorkerAsync("lapse-blockers");
        await fx.PutJobAsync("lapse-me", new JobDraft { Image = "fake/ok" });
        var task = await fx.EnqueueAsync("lapse-me", new TaskDraft { Priority = 2 });
        // Another node leases the task (its start is recorded in the lease), then dies: it never renews the lease.
        var lease = await fx.Grains.Partition(task.Partition).LeaseAsync("ghost-node", 1, 0);
        Assert.Equal(task.Id, Assert.Single(lease.Tasks).TaskId);
        await FreeTheWorkerAsync(blockers);
        Assert.Equal(TaskRunStatus.Running, (await fx.GetAsync(task.Id)).Status);

        // The live node's lease loop runs every third of a lease: one round after the lease lapsed, it takes the task back.
        fx.Clock.Advance(fx.Queue.LeaseDuration + (fx.Queue.LeaseDuration / 3) + s_tick);
        var done = await fx.WaitForEndAsync(task.Id);

        Assert.Equal(TaskRunStatus.Succeeded, done.Status);
        Assert.Equal(["ghost-node", "test-node"], done.Attempts.Select(a => a.Node));
        Assert.StartsWith("worker lost: node ghost-node stopped renewing", done.Attempts[0].Error);
        Assert.Equal(2, done.MaxAttempts); // no retries configured: the lost attempt did not use one up
    }

    /// <summary>Takes every slot of the worker node with held runs, so tests can hand tasks to nodes of their own.</summary>
    private async Task<List<string>> FillTheWorkerAsync(string job)
    {
        await fx.PutJobAsync(job, new JobDraft { Image = "fake/hold" });
        var ids = new List<string>();
        for (var i = 0; i < ClusterFixture.Slots; i++)
        {
            ids.Add((await fx.EnqueueAsync(job)).Id);
        }

        foreach (var id in ids)
        {
            await fx.WhenStartedAsync(id);
        }

        return ids;
    }

    private async Task FreeTheWorkerAsync(List<string> blockers)
    {
        foreach (var id in blockers)
        {
            fx.Driver.Release(id);
        }

        foreach (var id in blockers)
        {
            Assert.Equal(TaskRunStatus.Succeeded, (await fx.WaitForEndAsync(id)).Status);
        }
    }
}

using Stevedore.Grains;

namespace Stevedore.UnitTests;

public class TaskTransitionsTests
{
    private static readonly DateTimeOffset s_now = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);
    private static readonly JobInfo s_job = new() { Name = "j", Spec = new JobSpec { Image = "img", Retries = 2, RetryDelaySeconds = 10, RetryBackoff = 2 }, Version = 3 };

    private static TaskRecord Queued(int maxAttempts = 3) => new()
    {
        Id = TaskIds.New(s_now), Job = "j", Status = TaskRunStatus.Queued, MaxAttempts = maxAttempts, CreatedAt = s_now,
    };

    [Fact]
    public void Start_MovesAQueuedTaskToRunning_AsTheNextAttempt()
    {
        var started = TaskTransitions.Start(Queued(), "node-a", s_job, s_now)!;

        Assert.Equal(TaskRunStatus.Running, started.Status);
        Assert.Equal(1, started.Attempt);
        Assert.Equal(3, started.JobVersion);
        Assert.Equal("node-a", started.Node);
        Assert.Equal(s_now, started.StartedAt);
        var attempt = Assert.Single(started.Attempts);
        Assert.Equal((1, TaskRunStatus.Running), (attempt.Number, attempt.Status));
    }

    [Theory]
    [InlineData(TaskRunStatus.Running)]
    [InlineData(TaskRunStatus.Succeeded)]
    [InlineData(TaskRunStatus.Failed)]
    [InlineData(TaskRunStatus.TimedOut)]
    [InlineData(TaskRunStatus.Cancelled)]
    public void Start_RefusesATaskThatIsNotQueued(TaskRunStatus status) =>
        Assert.Null(TaskTransitions.Start(Queued() with { Status = status }, "n", s_job, s_now));

    [Fact]
    public void Start_RefusesAQueuedTaskWhoseCancelWasRequested() =>
        Assert.Null(TaskTransitions.Start(Queued() with { CancelRequested = true }, "n", s_job, s_now));

    [Fact]
    public void Finish_Succeeded_IsTerminal()
    {
        var running = TaskTransitions.Start(Queued(), "n", s_job, s_now)!;
        var done = TaskTransitions.Finish(running, 1, new RunOutcome { Status = TaskRunStatus.Succeeded, ExitCode = 0 }, s_job.Spec, s_now.AddSeconds(5))!;

        Assert.Equal(TaskRunStatus.Succeeded, done.Status);
        Assert.Equal(0, done.ExitCode);
        Assert.Equal(s_now.AddSeconds(5), done.FinishedAt);
        Assert.Equal(TaskRunStatus.Succeeded, done.Attempts[0].Status);
        Assert.Null(done.RunAfter);
    }

    [Theory]
    [InlineData(TaskRunStatus.Failed)]
    [InlineData(TaskRunStatus.TimedOut)]
    public void Finish_FailedWithAttemptsLeft_QueuesAgainAfterTheRetryDelay(TaskRunStatus status)
    {
        var running = TaskTransitions.Start(Queued(), "n", s_job, s_now)!;
        var retried = TaskTransitions.Finish(running, 1, new RunOutcome { Status = status, ExitCode = 3, Error = "boom" }, s_job.Spec, s_now)!;

        Assert.Equal(TaskRunStatus.Queued, retried.Status);
        Assert.Equal(s_now.AddSeconds(10), retried.RunAfter);
        Assert.Null(retried.FinishedAt);
        Assert.Equal(status, retried.Attempts[0].Status);
        Assert.Equal("boom", retried.Error);

        var second = TaskTransitions.Start(retried, "n", s_job, s_now.AddSeconds(10))!;
        Assert.Equal(2, second.Attempt);
        var again = TaskTransitions.Finish(second, 2, new RunOutcome { Status = status }, s_job.Spec, s_now.AddSeconds(11))!;
        Assert.Equal(s_now.AddSeconds(11 + 20), again.RunAfter);
    }

    [Fact]
    public void Finish_FailedOnTheLastAttempt_IsTerminal()
    {
        var running = TaskTransitions.Start(Queued(maxAttempts: 1), "n", s_job, s_now)!;
        var failed = TaskTransitions.Finish(running, 1, new RunOutcome { Status = TaskRunStatus.Failed, ExitCode = 1 }, s_job.Spec, s_now)!;

        Assert.Equal(TaskRunStatus.Failed, failed.Status);
        Assert.NotNull(failed.FinishedAt);
        Assert.Null(failed.RunAfter);
    }

    [Fact]
    public void Finish_IgnoresAnOutcomeForAnotherAttempt()
    {
        var running = TaskTransitions.Start(Queued(), "n", s_job, s_now)!;
        Assert.Null(TaskTransitions.Finish(running, 2, new RunOutcome { Status = TaskRunStatus.Succeeded }, s_job.Spec, s_now));
    }

    [Fact]
    public void Finish_AfterACancelRequest_IsCancelledEvenIfTheContainerFailed()
    {
        var running = TaskTransitions.Start(Queued(), "n", s_job, s_now)!;
        var requested = TaskTransitions.Cancel(running, s_now)!;
        Assert.Equal(TaskRunStatus.Running, requested.Status);
        Assert.True(requested.CancelRequested);

        var done = TaskTransitions.Finish(requested, 1, new RunOutcome { Status = TaskRunStatus.Failed, ExitCode = 137 }, s_job.Spec, s_now)!;
        Assert.Equal(TaskRunStatus.Cancelled, done.Status);
        Assert.Null(done.RunAfter);
    }

    [Fact]
    public void Finish_WorkerLost_QueuesAgainWithoutUsingARetry()
    {
        var running = TaskTransitions.Start(Queued(maxAttempts: 1), "n", s_job, s_now)!;
        var lost = TaskTransitions.Finish(running, 1, new RunOutcome { Status = TaskRunStatus.Cancelled, WorkerLost = true, Error = "worker lost" }, s_job.Spec, s_now)!;

        Assert.Equal(TaskRunStatus.Queued, lost.Status);
        Assert.Equal(2, lost.MaxAttempts);
        Assert.Equal("worker lost", lost.Error);
        Assert.Equal(TaskRunStatus.Failed, lost.Attempts[0].Status);
    }

    [Theory]
    [InlineData(0, false, TaskRunStatus.Queued)]
    [InlineData(1, false, TaskRunStatus.Queued)]
    [InlineData(2, false, TaskRunStatus.Failed)]
    [InlineData(0, true, TaskRunStatus.Queued)]
    [InlineData(1, true, TaskRunStatus.Queued)]
    [InlineData(2, true, TaskRunStatus.Failed)]
    public void Finish_LapsedLeaseOrLostEngine_CountsTowardALimit_ThenFailsTheTaskNamingTheCause(int lapsedBefore, bool engineLost, TaskRunStatus expected)
    {
        var running = TaskTransitions.Start(Queued(maxAttempts: 1) with { LapsedLeases = lapsedBefore }, "n", s_job, s_now)!;
        var lost = engineLost
            ? new RunOutcome { Status = TaskRunStatus.Failed, WorkerLost = true, EngineLost = true, Error = "worker lost: node n stopped renewing (its engine went away)" }
            : new RunOutcome { Status = TaskRunStatus.Failed, WorkerLost = true, LeaseLapsed = true, Error = "worker lost: node n stopped renewing" };

        var after = TaskTransitions.Finish(running, 1, lost, s_job.Spec, s_now)!;

        Assert.Equal(expected, after.Status);
        Assert.Equal(lapsedBefore + 1, after.LapsedLeases);
        Assert.Equal(TaskRunStatus.Failed, after.Attempts[^1].Status);
        if (expected == TaskRunStatus.Failed)
        {
            Assert.Equal(s_now, after.FinishedAt);
            Assert.Equal(1, after.MaxAttempts);
            Assert.Contains($"lost {TaskTransitions.MaxLapsedLeases} times", after.Error);
            Assert.StartsWith("worker lost: node n stopped renewing", after.Error);
        }
        else
        {
            Assert.Null(after.FinishedAt);
            Assert.Equal(2, after.MaxAttempts);
        }
    }

    [Fact]
    public void Finish_WorkerLostWithoutALapsedLease_NeverCountsTowardTheLimit()
    {
        var running = TaskTransitions.Start(Queued(maxAttempts: 1) with { LapsedLeases = TaskTransitions.MaxLapsedLeases - 1 }, "n", s_job, s_now)!;
        var shutDown = new RunOutcome { Status = TaskRunStatus.Cancelled, WorkerLost = true, Error = "worker lost: node n shut down" };

        var after = TaskTransitions.Finish(running, 1, shutDown, s_job.Spec, s_now)!;

        Assert.Equal(TaskRunStatus.Queued, after.Status);
        Assert.Equal(TaskTransitions.MaxLapsedLeases - 1, after.LapsedLeases);
    }

    [Fact]
    public void Finish_LapsedLeaseOfATaskWhoseCancelWasRequested_IsCancelled()
    {
        var running = TaskTransitions.Cancel(TaskTransitions.Start(Queued(), "n", s_job, s_now)!, s_now)!;
        var after = TaskTransitions.Finish(running, 1, new RunOutcome { Status = TaskRunStatus.Failed, WorkerLost = true, LeaseLapsed = true }, s_job.Spec, s_now)!;

        Assert.Equal(TaskRunStatus.Cancelled, after.Status);
    }

    [Fact]
    public void Cancel_QueuedTask_IsCancelledAtOnce()
    {
        var cancelled = TaskTransitions.Cancel(Queued() with { RunAfter = s_now.AddMinutes(1) }, s_now)!;

        Assert.Equal(TaskRunStatus.Cancelled, cancelled.Status);
        Assert.Equal(s_now, cancelled.FinishedAt);
        Assert.Null(cancelled.RunAfter);
    }

    [Theory]
    [InlineData(TaskRunStatus.Succeeded)]
    [InlineData(TaskRunStatus.Failed)]
    [InlineData(TaskRunStatus.TimedOut)]
    [InlineData(TaskRunStatus.Cancelled)]
    public void Cancel_FinishedTask_IsRefused(TaskRunStatus status) =>
        Assert.Null(TaskTransitions.Cancel(Queued() with { Status = status }, s_now));

    [Fact]
    public void Abandon_OnlyAppliesToQueuedTasks()
    {
        Assert.Equal(TaskRunStatus.Failed, TaskTransitions.Abandon(Queued(), "gone", s_now)!.Status);
        Assert.Null(TaskTransitions.Abandon(Queued() with { Status = TaskRunStatus.Running }, "gone", s_now));
    }
}

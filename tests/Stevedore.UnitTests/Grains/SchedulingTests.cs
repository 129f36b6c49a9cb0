using System.Collections.Concurrent;
using System.Text;
using Stevedore.Application;
using Stevedore.Execution;

namespace Stevedore.UnitTests.Grains;

[Collection(ClusterCollection.Name)]
public class SchedulingTests(ClusterFixture fx)
{
    [Fact]
    public async Task ATask_RunsThroughTheWorker_WithItsPayloadLogAndResult()
    {
        await fx.PutJobAsync("echo", new JobDraft { Image = "fake/echo" });
        var task = await fx.EnqueueAsync("echo", new TaskDraft { Payload = "hi there"u8.ToArray() });

        var done = await fx.WaitForEndAsync(task.Id);

        Assert.Equal(TaskRunStatus.Succeeded, done.Status);
        Assert.Equal("test-node", done.Node);
        Assert.Equal("hi there", Encoding.UTF8.GetString((await fx.Tasks.GetResultAsync(task.Id)).Value!.Span));
        var log = new MemoryStream();
        await fx.Tasks.ReadLogAsync(task.Id, null, follow: false, (d, _) => log.WriteAsync(d).AsTask(), default);
        Assert.Equal("hi there", Encoding.UTF8.GetString(log.ToArray()));
    }

    [Fact]
    public async Task ATaskThatWritesNoResult_HasNone_NotAnEmptyOne()
    {
        await fx.PutJobAsync("echo-nothing", new JobDraft { Image = "fake/echo" });
        var task = await fx.EnqueueAsync("echo-nothing");

        var done = await fx.WaitForEndAsync(task.Id);

        Assert.Equal(TaskRunStatus.Succeeded, done.Status);
        Assert.Equal(AppErrorKind.NotFound, (await fx.Tasks.GetResultAsync(task.Id)).Error?.Kind);
    }

    [Fact]
    public async Task AnAttemptsContainer_IsRemoved_OnlyOnceItsOutcomeIsRecorded()
    {
        var driver = fx.Driver;
        var seen = new TaskCompletionSource<TaskRunStatus>(TaskCreationOptions.RunContinuationsAsynchronously);
        driver.Removing = async request =>
        {
            if (request.Job == "removed-after")
            {
                seen.TrySetResult((await fx.Tasks.GetAsync(request.TaskId)).Value!.Status);
            }
        };
        try
        {
            await fx.PutJobAsync("removed-after", new JobDraft { Image = "fake/echo" });
            await fx.EnqueueAsync("removed-after");

            Assert.Equal(TaskRunStatus.Succeeded, await Wait.ForAsync(seen.Task, "the attempt's container to be removed"));
        }
        finally
        {
            driver.Removing = null;
        }
    }

    [Fact]
    public async Task MaxConcurrency_IsNeverExceeded_UnderManyTasks()
    {
        const string job = "limited";
        const int count = 30;
        await fx.PutJobAsync(job, new JobDraft { Image = "fake/hold", MaxConcurrency = 2 });
        var started = new ConcurrentQueue<string>();
        void OnStarted(ContainerRunRequest r)
        {
            if (r.Job == job)
            {
                started.Enqueue(r.TaskId);
            }
        }

        fx.Driver.Started += OnStarted;
        try
        {
            var tasks = new List<TaskRecord>();
            for (var i = 0; i < count; i++)
            {
                tasks.Add(await fx.EnqueueAsync(job));
            }

            // Runs hold until let go. Each round waits until the limit is reached (or all that is left runs), then
            // lets the oldest run go: the runs overlap as much as the limit allows, whatever the machine's speed.
            for (var released = 0; released < count; released++)
            {
                var expected = Math.Min(2, count - released);
                await Wait.UntilAsync(() => fx.Driver.RunningNow(job) >= expected && !started.IsEmpty,
                    $"{expected} runs of {job} to hold its slots (round {released + 1})");
                Assert.True(started.TryDequeue(out var oldest));
                fx.Driver.Release(oldest);
            }

            foreach (var t in tasks)
            {
                Assert.Equal(TaskRunStatus.Succeeded, (await fx.WaitForEndAsync(t.Id)).Status);
            }

            Assert.Equal(2, fx.Driver.MaxConcurrencySeen(job));
        }
        finally
        {
            fx.Driver.Started -= OnStarted;
        }
    }

    [Fact]
    public async Task PausedJob_QueuesTasksButStartsNone_UntilResumed()
    {
        await fx.PutJobAsync("pausable", new JobDraft { Image = "fake/ok" });
        await fx.PutJobAsync("control", new JobDraft { Image = "fake/ok" });
        Assert.True((await fx.Jobs.SetPausedAsync("pausable", true)).Value!.Paused);

        var held = new List<TaskRecord>();
        for (var i = 0; i < 5; i++)
        {
            held.Add(await fx.EnqueueAsync("pausable"));
        }

        // Tasks of another job enqueued later run through every partition's dispatch meanwhile.
        for (var i = 0; i < 16; i++)
        {
            await fx.WaitForEndAsync((await fx.EnqueueAsync("control")).Id);
        }

        foreach (var t in held)
        {
            var now = await fx.GetAsync(t.Id);
            Assert.Equal(TaskRunStatus.Queued, now.Status);
            Assert.Equal(0, now.Attempt);
        }

        Assert.Equal(5, (await fx.Jobs.StatsAsync("pausable")).Value!.QueuedNow);

        await fx.Jobs.SetPausedAsync("pausable", false);
        foreach (var t in held)
        {
            Assert.Equal(TaskRunStatus.Succeeded, (await fx.WaitForEndAsync(t.Id)).Status);
        }
    }

    [Fact]
    public async Task PausingAJobThatRan_StopsItsNewTasksFromStarting()
    {
        await fx.PutJobAsync("ran-then-paused", new JobDraft { Image = "fake/ok" });
        await fx.PutJobAsync("control-2", new JobDraft { Image = "fake/ok" });
        // Runs through every partition first, so each holds a pass for the unlimited job.
        for (var i = 0; i < 24; i++)
        {
            await fx.WaitForEndAsync((await fx.EnqueueAsync("ran-then-paused")).Id);
        }

        await fx.Jobs.SetPausedAsync("ran-then-paused", true);
        var held = new List<TaskRecord>();
        for (var i = 0; i < 8; i++)
        {
            held.Add(await fx.EnqueueAsync("ran-then-paused"));
        }

        for (var i = 0; i < 16; i++)
        {
            await fx.WaitForEndAsync((await fx.EnqueueAsync("control-2")).Id);
        }

        foreach (var t in held)
        {
            Assert.Equal(TaskRunStatus.Queued, (await fx.GetAsync(t.Id)).Status);
        }

        await fx.Jobs.SetPausedAsync("ran-then-paused", false);
        foreach (var t in held)
        {
            Assert.Equal(TaskRunStatus.Succeeded, (await fx.WaitForEndAsync(t.Id)).Status);
        }
    }

    [Fact]
    public async Task LimitAddedToAJobThatRanUnlimited_IsHeld()
    {
        const string job = "limit-later";
        await fx.PutJobAsync("control-3", new JobDraft { Image = "fake/ok" });
        await fx.PutJobAsync(job, new JobDraft { Image = "fake/hold" });
        var early = await fx.EnqueueAsync(job);
        await fx.WhenStartedAsync(early.Id);
        await fx.PutJobAsync(job, new JobDraft { Image = "fake/hold", MaxConcurrency = 1 });

        var late = await fx.EnqueueAsync(job);
        // The run that started unlimited counts against the new limit: the new task waits for it.
        for (var i = 0; i < 16; i++)
        {
            await fx.WaitForEndAsync((await fx.EnqueueAsync("control-3")).Id);
        }

        Assert.Equal(TaskRunStatus.Queued, (await fx.GetAsync(late.Id)).Status);
        fx.Driver.Release(early.Id);
        await fx.WhenStartedAsync(late.Id);
        fx.Driver.Release(late.Id);
        Assert.Equal(TaskRunStatus.Succeeded, (await fx.WaitForEndAsync(late.Id)).Status);
        Assert.Equal(1, fx.Driver.MaxConcurrencySeen(job));
    }

    [Fact]
    public async Task CancelQueued_CancelsAtOnce_AndTheTaskNeverRuns()
    {
        await fx.PutJobAsync("one-at-a-time", new JobDraft { Image = "fake/hold", MaxConcurrency = 1 });
        var first = await fx.EnqueueAsync("one-at-a-time");
        await fx.WhenStartedAsync(first.Id);
        var second = await fx.EnqueueAsync("one-at-a-time");

        var cancelled = await fx.Tasks.CancelAsync(second.Id);

        Assert.Equal(TaskRunStatus.Cancelled, cancelled.Value!.Status);
        fx.Driver.Release(first.Id);
        Assert.Equal(TaskRunStatus.Succeeded, (await fx.WaitForEndAsync(first.Id)).Status);
        var third = await fx.EnqueueAsync("one-at-a-time");
        await fx.WhenStartedAsync(third.Id);
        fx.Driver.Release(third.Id);
        await fx.WaitForEndAsync(third.Id);

        var after = await fx.GetAsync(second.Id);
        Assert.Equal(TaskRunStatus.Cancelled, after.Status);
        Assert.Equal(0, after.Attempt);
        Assert.Equal(AppErrorKind.Conflict, (await fx.Tasks.CancelAsync(second.Id)).Error!.Kind);
    }

    [Fact]
    public async Task CancelRunning_KillsTheRun_AndEndsCancelled()
    {
        await fx.PutJobAsync("long", new JobDraft { Image = "fake/hold", Retries = 3 });
        var task = await fx.EnqueueAsync("long");
        await fx.WhenStartedAsync(task.Id);

        var requested = await fx.Tasks.CancelAsync(task.Id);
        Assert.True(requested.Ok);
        Assert.True(requested.Value!.CancelRequested);

        var done = await fx.WaitForEndAsync(task.Id);
        Assert.Equal(TaskRunStatus.Cancelled, done.Status);
        Assert.Equal(1, done.Attempt);
        Assert.Equal(0, fx.Driver.RunningNow("long"));
    }

    [Fact]
    public async Task IdempotencyKey_ReturnsTheSameTask_ForTheSameJob_EvenConcurrently()
    {
        await fx.PutJobAsync("idem", new JobDraft { Image = "fake/ok" });
        await fx.PutJobAsync("idem-other", new JobDraft { Image = "fake/ok" });

        var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ =>
            fx.Tasks.EnqueueAsync("idem", new TaskDraft { IdempotencyKey = "order-42" })));

        Assert.Single(results.Select(r => r.Value!.Task.Id).Distinct());
        Assert.Equal(1, results.Count(r => !r.Value!.Existing));
        var other = await fx.Tasks.EnqueueAsync("idem-other", new TaskDraft { IdempotencyKey = "order-42" });
        Assert.False(other.Value!.Existing);
        Assert.NotEqual(results[0].Value!.Task.Id, other.Value.Task.Id);
    }

    [Fact]
    public async Task FailingTask_IsRetried_UntilAttemptsRunOut()
    {
        await fx.PutJobAsync("flaky", new JobDraft { Image = "fake/fail", Retries = 2, RetryDelaySeconds = 0 });
        var task = await fx.EnqueueAsync("flaky");

        var done = await fx.WaitForEndAsync(task.Id);

        Assert.Equal(TaskRunStatus.Failed, done.Status);
        Assert.Equal(3, done.Attempt);
        Assert.Equal([1, 2, 3], done.Attempts.Select(a => a.Number));
        Assert.All(done.Attempts, a => Assert.Equal(TaskRunStatus.Failed, a.Status));
        Assert.Equal(1, done.ExitCode);
    }

    [Fact]
    public async Task DeletedJob_FailsItsWaitingTasks_WithAReason()
    {
        await fx.PutJobAsync("doomed", new JobDraft { Image = "fake/ok" });
        await fx.Jobs.SetPausedAsync("doomed", true);
        var task = await fx.EnqueueAsync("doomed");
        // The partition asked the job for a run slot, was told it is paused, and set the task aside.
        await Wait.ForAsync(fx.Calls.WhenCalled<IJobGrain>(nameof(IJobGrain.TryAcquireAsync),
                c => (string)c.Arguments[0]! == task.Id && ((AcquireResult)c.Result!).Outcome == AcquireOutcome.Paused),
            $"the partition to set task {task.Id} aside for the pause");
        Assert.True((await fx.Jobs.DeleteAsync("doomed")).Ok);

        var done = await fx.WaitForEndAsync(task.Id);

        Assert.Equal(TaskRunStatus.Failed, done.Status);
        Assert.Equal("job 'doomed' was deleted before the task started", done.Error);
        Assert.Equal(0, done.Attempt);
    }

    [Fact]
    public async Task JobVersion_IsBumpedOnChangeOnly_AndTasksRecordTheVersionTheyRan()
    {
        var v1 = await fx.PutJobAsync("versioned", new JobDraft { Image = "fake/ok" });
        var same = await fx.PutJobAsync("versioned", new JobDraft { Image = "fake/ok" });
        var v2 = await fx.PutJobAsync("versioned", new JobDraft { Image = "fake/ok", Priority = 1 });
        Assert.Equal((1, 1, 2), (v1.Version, same.Version, v2.Version));

        var done = await fx.WaitForEndAsync((await fx.EnqueueAsync("versioned")).Id);
        Assert.Equal(2, done.JobVersion);
    }
}

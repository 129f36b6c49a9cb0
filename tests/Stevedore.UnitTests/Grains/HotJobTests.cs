using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Stevedore.Application;
using Stevedore.Execution.Fake;

namespace Stevedore.UnitTests.Grains;

/// <summary>
/// Hot jobs on the test cluster, through the fake hot driver (in-process handlers speaking the real protocol bytes)
/// and the fake clock: what a user sees of the protocol — payload in, result out, a log per task, errors, timeouts,
/// cancels — and when containers are replaced or retired.
/// </summary>
[Collection(ClusterCollection.Name)]
public class HotJobTests(ClusterFixture fx)
{
    private FakeHotContainers Hot => fx.Services.GetRequiredService<FakeHotContainers>();

    private static JobDraft HotJob(int maxPerNode = 1, int idleSeconds = 60, int retries = 0) => new()
    {
        Image = "fake/hot", Retries = retries, RetryDelaySeconds = 0, Hot = new HotDraft { MaxPerNode = maxPerNode, IdleSeconds = idleSeconds },
    };

    private async Task<TaskRecord> RunAsync(string job, string payload) =>
        await fx.WaitForEndAsync((await fx.EnqueueAsync(job, new TaskDraft { Payload = Encoding.UTF8.GetBytes(payload) })).Id);

    private async Task<string> LogAsync(string id)
    {
        var log = new MemoryStream();
        await fx.Tasks.ReadLogAsync(id, null, follow: false, (d, _) => log.WriteAsync(d).AsTask(), default);
        return Encoding.UTF8.GetString(log.ToArray());
    }

    [Fact]
    public async Task ManyTasks_OneContainer_EachWithItsOwnResultAndLog()
    {
        await fx.PutJobAsync("hot-many", HotJob());
        var done = new List<TaskRecord>();
        for (var i = 0; i < 5; i++)
        {
            done.Add(await RunAsync("hot-many", $"payload {i}"));
        }

        Assert.Equal(1, Hot.StartedOf("hot-many"));
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(TaskRunStatus.Succeeded, done[i].Status);
            Assert.Equal(0, done[i].ExitCode);
            Assert.Equal($"payload {i}", Encoding.UTF8.GetString((await fx.Tasks.GetResultAsync(done[i].Id)).Value!.Span));
            var log = await LogAsync(done[i].Id);
            Assert.Contains($"log of {done[i].Id}\n", log);
            Assert.Contains($"stderr of {done[i].Id}\n", log);
            Assert.DoesNotContain("STEVEDORE-RESULT", log);
            foreach (var other in done.Where(o => o.Id != done[i].Id))
            {
                Assert.DoesNotContain(other.Id, log);
            }
        }
    }

    [Fact]
    public async Task AnEmptyAnswer_LeavesNoResult_NotAnEmptyOne()
    {
        await fx.PutJobAsync("hot-empty", HotJob());

        var done = await RunAsync("hot-empty", "");

        Assert.Equal(TaskRunStatus.Succeeded, done.Status);
        Assert.Equal(AppErrorKind.NotFound, (await fx.Tasks.GetResultAsync(done.Id)).Error?.Kind);
    }

    [Fact]
    public async Task AnErrorResponse_FailsTheTask_WithTheHandlersMessage_AndKeepsTheContainer()
    {
        await fx.PutJobAsync("hot-error", HotJob());
        var failed = await RunAsync("hot-error", "fail");
        var next = await RunAsync("hot-error", "fine");

        Assert.Equal(TaskRunStatus.Failed, failed.Status);
        Assert.Equal("the hot handler answered with an error: boom", failed.Error);
        Assert.Equal(TaskRunStatus.Succeeded, next.Status);
        Assert.Equal(1, Hot.StartedOf("hot-error"));
    }

    [Fact]
    public async Task AMalformedFrame_FailsTheTask_SayingSo_AndTheContainerIsReplaced()
    {
        await fx.PutJobAsync("hot-malformed", HotJob());
        var broken = await RunAsync("hot-malformed", "malformed");
        Assert.Equal(0, Hot.LiveOf("hot-malformed"));
        var next = await RunAsync("hot-malformed", "fine");

        Assert.Equal(TaskRunStatus.Failed, broken.Status);
        Assert.Contains("broke the protocol (malformed response frame: the response status 'maybe' is neither ok nor error)", broken.Error);
        Assert.Equal(TaskRunStatus.Succeeded, next.Status);
        Assert.Equal(2, Hot.StartedOf("hot-malformed"));
    }

    [Fact]
    public async Task AContainerThatDiesMidTask_FailsTheAttemptWithItsExitCode_AndARetryGetsAFreshOne()
    {
        await fx.PutJobAsync("hot-die", HotJob(retries: 1));
        var task = await fx.EnqueueAsync("hot-die", new TaskDraft { Payload = "die"u8.ToArray() });
        var done = await fx.WaitForEndAsync(task.Id);

        Assert.Equal(TaskRunStatus.Failed, done.Status);
        Assert.Equal(2, done.Attempt);
        Assert.All(done.Attempts, a => Assert.Equal(3, a.ExitCode));
        Assert.Equal("the hot container exited with code 3 before it answered", done.Error);
        Assert.Equal(2, Hot.StartedOf("hot-die"));
        Assert.Contains($"dying on {task.Id}", await LogAsync(task.Id));
    }

    [Fact]
    public async Task AContainerThatStoppedWhileIdle_IsReplaced_AndTheNextTaskDoesNotFailForIt()
    {
        await fx.PutJobAsync("hot-exited", HotJob());
        var answered = await RunAsync("hot-exited", "answer-then-exit");
        Assert.Equal(0, Hot.LiveOf("hot-exited"));
        var next = await RunAsync("hot-exited", "fine");

        Assert.Equal(TaskRunStatus.Succeeded, answered.Status);
        Assert.Equal(TaskRunStatus.Succeeded, next.Status);
        Assert.Equal(2, Hot.StartedOf("hot-exited"));
    }

    [Fact]
    public async Task ATimeout_KillsTheContainer_EndsTimedOut_AndTheNextTaskGetsAFreshOne()
    {
        await fx.PutJobAsync("hot-timeout", HotJob());
        var task = await fx.EnqueueAsync("hot-timeout", new TaskDraft { Payload = "hold"u8.ToArray(), TimeoutSeconds = 30 });
        await Wait.ForAsync(Hot.WhenInvoked(task.Id), $"hot task {task.Id} to reach its container");

        fx.Clock.Advance(TimeSpan.FromSeconds(29));
        Assert.Equal(TaskRunStatus.Running, (await fx.GetAsync(task.Id)).Status);
        fx.Clock.Advance(TimeSpan.FromSeconds(1));
        var done = await fx.WaitForEndAsync(task.Id);
        var next = await RunAsync("hot-timeout", "fine");

        Assert.Equal(TaskRunStatus.TimedOut, done.Status);
        Assert.Equal("timed out after 30 s; killed", done.Error);
        Assert.Equal(TaskRunStatus.Succeeded, next.Status);
        Assert.Equal(2, Hot.StartedOf("hot-timeout"));
    }

    [Fact]
    public async Task ACancel_KillsTheContainer_EndsCancelled_AndTheNextTaskGetsAFreshOne()
    {
        await fx.PutJobAsync("hot-cancel", HotJob());
        var task = await fx.EnqueueAsync("hot-cancel", new TaskDraft { Payload = "hold"u8.ToArray() });
        await Wait.ForAsync(Hot.WhenInvoked(task.Id), $"hot task {task.Id} to reach its container");

        Assert.True((await fx.Tasks.CancelAsync(task.Id)).Ok);
        var done = await fx.WaitForEndAsync(task.Id);
        Assert.Equal(0, Hot.LiveOf("hot-cancel"));
        var next = await RunAsync("hot-cancel", "fine");

        Assert.Equal(TaskRunStatus.Cancelled, done.Status);
        Assert.Equal(TaskRunStatus.Succeeded, next.Status);
        Assert.Equal(2, Hot.StartedOf("hot-cancel"));
    }

    [Fact]
    public async Task AnIdleContainer_RetiresAfterIdleSeconds_NotBefore()
    {
        await fx.PutJobAsync("hot-idle", HotJob(idleSeconds: 30));
        await RunAsync("hot-idle", "one");
        Assert.Equal(1, Hot.LiveOf("hot-idle"));

        fx.Clock.Advance(TimeSpan.FromSeconds(28));
        Assert.Equal(1, Hot.LiveOf("hot-idle"));
        await Wait.UntilAsync(() =>
        {
            fx.Clock.Advance(TimeSpan.FromSeconds(1));
            return Task.FromResult(Hot.LiveOf("hot-idle"));
        }, live => live == 0, "the idle hot container to retire as the clock passes 30 s", describe: live => $"{live} live");
        Assert.Equal(1, Hot.StartedOf("hot-idle"));
    }

    [Fact]
    public async Task AJobChange_RetiresItsContainers_SoTasksRunWithTheNewDefinition()
    {
        await fx.PutJobAsync("hot-change", HotJob());
        await RunAsync("hot-change", "v1");
        Assert.Equal(1, Hot.LiveOf("hot-change"));

        await fx.PutJobAsync("hot-change", HotJob() with { MemoryMb = 512 });
        await Wait.UntilAsync(() => Task.FromResult(Hot.LiveOf("hot-change")), live => live == 0, "the old version's hot container to retire");
        var v2 = await RunAsync("hot-change", "v2");

        Assert.Equal(2, v2.JobVersion);
        Assert.Equal(TaskRunStatus.Succeeded, v2.Status);
        Assert.Equal(2, Hot.StartedOf("hot-change"));
    }

    [Fact]
    public async Task PausingOrDeletingAJob_RetiresItsContainers()
    {
        await fx.PutJobAsync("hot-pause", HotJob());
        await RunAsync("hot-pause", "x");
        Assert.Equal(1, Hot.LiveOf("hot-pause"));
        await fx.Jobs.SetPausedAsync("hot-pause", paused: true);
        await Wait.UntilAsync(() => Task.FromResult(Hot.LiveOf("hot-pause")), live => live == 0, "the paused job's hot container to retire");

        await fx.PutJobAsync("hot-delete", HotJob());
        await RunAsync("hot-delete", "x");
        await fx.Jobs.DeleteAsync("hot-delete");
        await Wait.UntilAsync(() => Task.FromResult(Hot.LiveOf("hot-delete")), live => live == 0, "the deleted job's hot container to retire");
    }

    [Fact]
    public async Task MaxPerNode_BoundsTheContainers_TasksBeyondItWaitTheirTurn()
    {
        await fx.PutJobAsync("hot-max", HotJob(maxPerNode: 2));
        var held = new List<TaskRecord>();
        for (var i = 0; i < 3; i++)
        {
            held.Add(await fx.EnqueueAsync("hot-max", new TaskDraft { Payload = "hold"u8.ToArray() }));
        }

        await Wait.UntilAsync(() => Task.FromResult(Hot.LiveOf("hot-max")), live => live == 2, "two hot containers to take two tasks");
        await Wait.UntilAsync(async () => (await Task.WhenAll(held.Select(t => fx.GetAsync(t.Id)))).Count(t => t.Status == TaskRunStatus.Running),
            running => running == 3, "the third task to be started (waiting for a container)");
        Assert.Equal(2, Hot.StartedOf("hot-max"));

        foreach (var t in held)
        {
            await fx.Tasks.CancelAsync(t.Id);
        }

        foreach (var t in held)
        {
            Assert.Equal(TaskRunStatus.Cancelled, (await fx.WaitForEndAsync(t.Id)).Status);
        }
    }

    [Fact]
    public async Task AnImageThatCannotStart_FailsTheTask_SayingWhy()
    {
        await fx.PutJobAsync("hot-missing", HotJob() with { Image = "fake/missing" });
        var done = await RunAsync("hot-missing", "x");
        Assert.Equal(TaskRunStatus.Failed, done.Status);
        Assert.Equal("image fake/missing could not be pulled", done.Error);
    }
}

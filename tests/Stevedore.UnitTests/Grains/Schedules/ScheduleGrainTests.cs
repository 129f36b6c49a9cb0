using Stevedore.Application.Triggers;
using Stevedore.Grains.Schedules;

namespace Stevedore.UnitTests.Grains.Schedules;

/// <summary>Schedule grains on a fake clock: each step moves the clock and waits for the tick it set off.</summary>
[Collection(ScheduleClusterCollection.Name)]
public class ScheduleGrainTests(ScheduleClusterFixture fx)
{
    private static readonly TimeSpan s_ten = TimeSpan.FromSeconds(10);

    // The fake clock outruns the (real-time) fake containers: schedules other than the overlap test allow overlap.
    private const string Allow = "allow";

    private static string NewJob() => "sched-" + Guid.NewGuid().ToString("N")[..8];

    private static string[] Occurrences(IEnumerable<TaskRecord> tasks) => tasks.Select(t => t.Labels[ScheduleRules.OccurrenceLabel]).ToArray();

    private static string Occurrence(ScheduleInfo schedule, TimeSpan after) => ScheduleRules.Format(schedule.CreatedAt + after);

    [Fact]
    public async Task MaxRuns_MakesExactlyThatManyTasks_ThenTheScheduleFinishes()
    {
        var job = NewJob();
        await fx.PutJobAsync(job);
        var schedule = await fx.CreateAsync(job, new ScheduleDraft { EverySeconds = 10, MaxRuns = 3, Payload = "tick"u8.ToArray(), Overlap = Allow });
        Assert.Equal(schedule.CreatedAt + s_ten, schedule.NextRunAt);

        for (var i = 1; i <= 3; i++)
        {
            await fx.AdvanceAsync(schedule.Id, s_ten, s => s.Runs == i);
        }

        var after = await fx.AdvanceAsync(schedule.Id, TimeSpan.FromMinutes(5), s => s.State == ScheduleState.Finished);

        var tasks = await fx.TasksOfAsync(schedule.Id);
        Assert.Equal([Occurrence(schedule, s_ten), Occurrence(schedule, 2 * s_ten), Occurrence(schedule, 3 * s_ten)], Occurrences(tasks));
        Assert.All(tasks, t => Assert.Equal(schedule.Id, t.Labels[ScheduleRules.ScheduleLabel]));
        Assert.Equal((ScheduleState.Finished, 3, (DateTimeOffset?)null), (after.State, after.Runs, after.NextRunAt));
        Assert.Equal(tasks[^1].Id, after.LastTaskId);
        Assert.Equal(schedule.CreatedAt + (3 * s_ten), after.LastRunAt);
        foreach (var silo in fx.Cluster.GetActiveSilos())
        {
            // Finished: no silo holds it any more, so none wakes it when another dies.
            Assert.DoesNotContain(schedule.Id, await fx.ScheduleIndex.ListBySiloAsync(silo.SiloAddress.ToParsableString()));
        }
    }

    [Fact]
    public async Task EndAt_StopsTheSchedule_AfterItsLastOccurrence()
    {
        var job = NewJob();
        await fx.PutJobAsync(job);
        var schedule = await fx.CreateAsync(job, new ScheduleDraft { EverySeconds = 10, EndAt = fx.Clock.GetUtcNow().AddSeconds(25), Overlap = Allow });

        await fx.AdvanceAsync(schedule.Id, s_ten, s => s.Runs == 1);
        // The next occurrence (+30 s) lies past endAt: the run of +20 s is the last, and the schedule ends with it.
        var after = await fx.AdvanceAsync(schedule.Id, s_ten, s => s.Runs == 2 && s.State == ScheduleState.Finished);

        Assert.Equal([Occurrence(schedule, s_ten), Occurrence(schedule, 2 * s_ten)], Occurrences(await fx.TasksOfAsync(schedule.Id)));
        Assert.Equal(ScheduleState.Finished, after.State);
    }

    [Fact]
    public async Task OverlapSkip_MakesNoTaskWhileThePreviousOneRuns_AndAllowDoes()
    {
        var job = NewJob();
        await fx.PutJobAsync(job, image: "fake/hold");
        var skip = await fx.CreateAsync(job, new ScheduleDraft { EverySeconds = 10 });
        var allow = await fx.CreateAsync(job, new ScheduleDraft { EverySeconds = 10, Overlap = "allow" });

        await fx.AdvanceAsync(skip.Id, s_ten, s => s.Runs == 1);
        var first = (await fx.WaitForTasksAsync(skip.Id, 1))[0];
        await fx.WaitForTasksAsync(allow.Id, 1);
        await WaitRunningAsync(first.Id);
        var skipped = await fx.AdvanceAsync(skip.Id, s_ten, s => s.Skipped == 1);

        Assert.Equal((1, 1), (skipped.Runs, skipped.Skipped));
        Assert.Single(await fx.TasksOfAsync(skip.Id));
        Assert.Equal(2, (await fx.WaitForTasksAsync(allow.Id, 2)).Count);

        fx.Release(first.Id);
        await WaitEndedAsync(first.Id);
        var fired = await fx.AdvanceAsync(skip.Id, s_ten, s => s.Runs == 2);

        Assert.Equal((2, 1), (fired.Runs, fired.Skipped));
        Assert.Equal([Occurrence(skip, s_ten), Occurrence(skip, 3 * s_ten)], Occurrences(await fx.TasksOfAsync(skip.Id)));
        await fx.Schedules.DeleteAsync(skip.Id);
        await fx.Schedules.DeleteAsync(allow.Id);
        foreach (var task in (await fx.TasksOfAsync(skip.Id)).Concat(await fx.TasksOfAsync(allow.Id)))
        {
            fx.Release(task.Id);
        }
    }

    [Fact]
    public async Task Paused_FiresNothing_AndOnResumeOnlyLaterOccurrencesFire()
    {
        var job = NewJob();
        await fx.PutJobAsync(job);
        var schedule = await fx.CreateAsync(job, new ScheduleDraft { EverySeconds = 10, Overlap = Allow });
        await fx.AdvanceAsync(schedule.Id, s_ten, s => s.Runs == 1);

        var paused = (await fx.Schedules.SetPausedAsync(schedule.Id, true)).Value!;
        Assert.Equal((ScheduleState.Paused, (DateTimeOffset?)null), (paused.State, paused.NextRunAt));
        // Nothing is armed while paused: had anything fired at +20 … +40 s, it would be in the list below.
        fx.Clock.Advance(TimeSpan.FromSeconds(35));

        var resumed = (await fx.Schedules.SetPausedAsync(schedule.Id, false)).Value!;
        Assert.Equal((ScheduleState.Active, schedule.CreatedAt + (5 * s_ten)), (resumed.State, resumed.NextRunAt));
        await fx.AdvanceAsync(schedule.Id, TimeSpan.FromSeconds(5), s => s.Runs == 2);

        Assert.Equal([Occurrence(schedule, s_ten), Occurrence(schedule, 5 * s_ten)], Occurrences(await fx.TasksOfAsync(schedule.Id)));
    }

    [Fact]
    public async Task DeletingTheJob_DeletesItsSchedules()
    {
        var job = NewJob();
        await fx.PutJobAsync(job);
        var schedule = await fx.CreateAsync(job, new ScheduleDraft { EverySeconds = 10, Overlap = Allow });

        Assert.True((await fx.Jobs.DeleteAsync(job)).Ok);

        Assert.Null(await fx.Grain(schedule.Id).GetAsync());
        Assert.Empty(await fx.ScheduleIndex.ListByJobAsync(job));
        fx.Clock.Advance(s_ten);
        Assert.Empty(await fx.TasksOfAsync(schedule.Id));
    }

    private async Task WaitRunningAsync(string taskId) =>
        await WaitTaskAsync(taskId, t => t.Status == TaskRunStatus.Running, "running");

    private async Task WaitEndedAsync(string taskId) =>
        await WaitTaskAsync(taskId, t => t.Status.IsTerminal(), "ended");

    private static async Task WaitTaskAsync(string taskId, Func<TaskRecord, bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!(await ScheduleClusterFixture.s_tasks.GetAsync(taskId) is { } task && condition(task)))
        {
            Assert.True(DateTime.UtcNow < deadline, $"task {taskId} was not {what} within 20 s: {(await ScheduleClusterFixture.s_tasks.GetAsync(taskId))?.Status}");
            await Task.Delay(10);
        }
    }
}

using Orleans.TestingHost;
using Stevedore.Application.Triggers;
using Stevedore.Grains.Schedules;

namespace Stevedore.UnitTests.Grains.Schedules;

/// <summary>A schedule whose silo dies: it comes back on the other one, fires what it missed once, and never twice.</summary>
[Collection(ScheduleClusterCollection.Name)]
public class ScheduleFailoverTests(ScheduleClusterFixture fx)
{
    private static readonly TimeSpan s_ten = TimeSpan.FromSeconds(10);

    // The fake clock outruns the (real-time) fake containers: schedules other than the overlap test allow overlap.
    private const string Allow = "allow";

    [Fact]
    public async Task SiloDies_TheScheduleGoesOnElsewhere_AndMissedOccurrencesFireOnce()
    {
        var job = "failover-" + Guid.NewGuid().ToString("N")[..8];
        await fx.PutJobAsync(job);
        var secondary = fx.Cluster.SecondarySilos[0];
        var schedule = await fx.CreateAsync(job, new ScheduleDraft { EverySeconds = 10, Overlap = Allow }, secondary);
        Assert.Contains(schedule.Id, await fx.ScheduleIndex.ListBySiloAsync(secondary.SiloAddress.ToParsableString()));
        await fx.AdvanceAsync(schedule.Id, s_ten, s => s.Runs == 1);

        await fx.Cluster.KillSiloAsync(secondary);
        // The schedule is nowhere while the clock runs on: occurrences at +20 … +90 s find no one.
        fx.Clock.Advance(TimeSpan.FromSeconds(85));
        var woken = await WaitHeldByAsync(schedule.Id, fx.Cluster.Primary!);
        var info = await fx.AdvanceAsync(schedule.Id, TimeSpan.Zero, s => s.Runs == 2);
        await fx.Cluster.StartAdditionalSiloAsync();

        var tasks = await fx.TasksOfAsync(schedule.Id);
        Assert.Equal([At(schedule, 10), At(schedule, 90)], tasks.Select(t => t.Labels[ScheduleRules.OccurrenceLabel]));
        Assert.Equal((2, tasks[1].Id), (info.Runs, info.LastTaskId));
        Assert.True(woken);

        await fx.AdvanceAsync(schedule.Id, s_ten, s => s.Runs == 3);
        Assert.Equal(At(schedule, 100), (await fx.WaitForTasksAsync(schedule.Id, 3))[2].Labels[ScheduleRules.OccurrenceLabel]);
        await fx.Schedules.DeleteAsync(schedule.Id);
    }

    [Fact]
    public async Task SiloDiesAsItFires_TheNewActivationFindsTheSameTask_NotASecondOne()
    {
        var job = "crash-" + Guid.NewGuid().ToString("N")[..8];
        await fx.PutJobAsync(job);
        var secondary = fx.Cluster.SecondarySilos[0];
        var schedule = await fx.CreateAsync(job, new ScheduleDraft { EverySeconds = 10, Overlap = Allow }, secondary);
        var grainId = fx.Grain(schedule.Id).GetGrainId();
        // The silo dies after the task of +10 s was created and before the schedule recorded it: the write that
        // would record it never reaches storage, which still says the occurrence is pending.
        SharedGrainStorage.FailWrite = (id, state) =>
            id == grainId && state is ScheduleGrainState { Progress: { Pending: null, Runs: 1 } };
        try
        {
            await fx.AdvanceAsync(schedule.Id, s_ten, s => s.Runs == 1);
            var made = (await fx.WaitForTasksAsync(schedule.Id, 1)).Single();

            await fx.Cluster.KillSiloAsync(secondary);
            await fx.Cluster.StartAdditionalSiloAsync();
            SharedGrainStorage.FailWrite = null;
            await WaitHeldByAsync(schedule.Id, fx.Cluster.Primary!);
            var info = await WaitRunsAsync(schedule.Id, 1);

            var tasks = await fx.TasksOfAsync(schedule.Id);
            Assert.Equal([made.Id], tasks.Select(t => t.Id));
            Assert.Equal(made.Id, info.LastTaskId);
            Assert.Equal(At(schedule, 10), tasks[0].Labels[ScheduleRules.OccurrenceLabel]);

            await fx.AdvanceAsync(schedule.Id, s_ten, s => s.Runs == 2);
            Assert.Equal([At(schedule, 10), At(schedule, 20)], (await fx.WaitForTasksAsync(schedule.Id, 2)).Select(t => t.Labels[ScheduleRules.OccurrenceLabel]));
        }
        finally
        {
            SharedGrainStorage.FailWrite = null;
            await fx.Schedules.DeleteAsync(schedule.Id);
        }
    }

    private static string At(ScheduleInfo schedule, int seconds) => ScheduleRules.Format(schedule.CreatedAt.AddSeconds(seconds));

    /// <summary>Waits until the schedule index says <paramref name="silo"/> holds the schedule (it was woken there).</summary>
    private async Task<bool> WaitHeldByAsync(string scheduleId, SiloHandle silo)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!(await fx.ScheduleIndex.ListBySiloAsync(silo.SiloAddress.ToParsableString())).Contains(scheduleId))
        {
            Assert.True(DateTime.UtcNow < deadline, $"schedule {scheduleId} was not woken on {silo.SiloAddress} within 60 s of its silo's death");
            await Task.Delay(20);
        }

        return true;
    }

    private async Task<ScheduleInfo> WaitRunsAsync(string scheduleId, int runs)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var info = (await fx.Grain(scheduleId).GetAsync())!;
            if (info.Runs >= runs && info.LastTaskId is not null)
            {
                return info;
            }

            Assert.True(DateTime.UtcNow < deadline, $"schedule {scheduleId} has {info.Runs} runs, not {runs}");
            await Task.Delay(20);
        }
    }
}

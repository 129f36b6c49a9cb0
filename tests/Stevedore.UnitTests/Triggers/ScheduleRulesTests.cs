using Stevedore.Application.Triggers;

namespace Stevedore.UnitTests.Triggers;

public class ScheduleRulesTests
{
    private static readonly DateTimeOffset s_created = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly ScheduleProgress s_fresh = new();

    private static DateTimeOffset At(int seconds) => s_created.AddSeconds(seconds);

    private static ScheduleDecision Decide(ScheduleSpec spec, ScheduleProgress progress, int nowSeconds, bool previousActive = false) =>
        ScheduleRules.Decide(ScheduleClock.For(spec, s_created), spec, progress, At(nowSeconds), previousActive);

    private static ScheduleSpec Every(int seconds, int? maxRuns = null, int? endAfter = null, ScheduleOverlap overlap = ScheduleOverlap.Skip) => new()
    {
        Job = "j", EverySeconds = seconds, MaxRuns = maxRuns, EndAt = endAfter is { } e ? At(e) : null, Overlap = overlap,
    };

    public static TheoryData<string, ScheduleSpec, ScheduleProgress, int, bool, ScheduleAction, int?> Cases => new()
    {
        // name, spec, progress, now (s after creation), previous run active, expected action, expected instant (s)
        { "nothing due yet: wait for the first occurrence", Every(10), s_fresh, 3, false, ScheduleAction.Wait, 10 },
        { "an occurrence is due: fire it", Every(10), s_fresh, 10, false, ScheduleAction.Fire, 10 },
        { "a little late: still that occurrence", Every(10), s_fresh, 12, false, ScheduleAction.Fire, 10 },
        { "after downtime: only the latest missed occurrence fires", Every(10), new() { Cursor = At(10), Runs = 1 }, 95, false, ScheduleAction.Fire, 90 },
        { "fired already: wait for the next", Every(10), new() { Cursor = At(10), Runs = 1 }, 15, false, ScheduleAction.Wait, 20 },
        { "overlap skip with the previous run active: skip", Every(10), new() { Cursor = At(10), Runs = 1, LastTaskId = "t" }, 20, true, ScheduleAction.Skip, 20 },
        { "overlap allow with the previous run active: fire", Every(10, overlap: ScheduleOverlap.Allow), new() { Cursor = At(10), Runs = 1 }, 20, true, ScheduleAction.Fire, 20 },
        { "overlap skip once the previous run ended: fire", Every(10), new() { Cursor = At(20), Runs = 1, Skipped = 1 }, 30, false, ScheduleAction.Fire, 30 },
        { "maxRuns reached: finish", Every(10, maxRuns: 2), new() { Cursor = At(20), Runs = 2 }, 30, false, ScheduleAction.Finish, null },
        { "maxRuns not reached: fire", Every(10, maxRuns: 2), new() { Cursor = At(10), Runs = 1 }, 20, false, ScheduleAction.Fire, 20 },
        { "skips do not count towards maxRuns", Every(10, maxRuns: 1), new() { Cursor = At(30), Skipped = 3 }, 40, false, ScheduleAction.Fire, 40 },
        { "past endAt with nothing due: finish", Every(10, endAfter: 25), new() { Cursor = At(20), Runs = 2 }, 40, false, ScheduleAction.Finish, null },
        { "down across endAt: the last occurrence before it fires", Every(10, endAfter: 25), new() { Cursor = At(10), Runs = 1 }, 500, false, ScheduleAction.Fire, 20 },
        { "a pending occurrence fires first, whatever else is due", Every(10), new() { Cursor = At(10), Runs = 1, Pending = At(20) }, 95, true, ScheduleAction.Fire, 20 },
        { "a pending occurrence fires even at maxRuns (it was decided before)", Every(10, maxRuns: 1), new() { Pending = At(10) }, 95, false, ScheduleAction.Fire, 10 },
        { "paused: nothing", Every(10), new() { Paused = true }, 95, false, ScheduleAction.Wait, null },
        { "finished stays finished", Every(10), new() { Finished = true }, 95, false, ScheduleAction.Finish, null },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Decide_FollowsTheTable(string name, ScheduleSpec spec, ScheduleProgress progress, int now, bool previousActive, ScheduleAction action, int? at)
    {
        var decision = Decide(spec, progress, now, previousActive);

        Assert.True((action, at is { } s ? At(s) : (DateTimeOffset?)null) == (decision.Action, decision.At), $"{name}: got {decision}");
    }

    [Fact]
    public void Decide_ACronThatNeverMatchesAgain_Finishes()
    {
        var spec = new ScheduleSpec { Job = "j", Cron = "0 0 1 1 *", EndAt = At(86_400 * 300) };

        Assert.Equal(ScheduleAction.Finish, Decide(spec, s_fresh, 86_400 * 400).Action);
    }

    [Fact]
    public void Firing_ThenFired_RecordTheRunAndClearThePending()
    {
        var firing = ScheduleRules.Firing(new ScheduleProgress { Cursor = At(10), Runs = 1 }, At(20));
        Assert.Equal(At(20), firing.Pending);
        Assert.Equal(1, firing.Runs);

        var fired = ScheduleRules.Fired(firing, At(20), "task-2");

        Assert.Equal((At(20), 2, At(20), "task-2", (DateTimeOffset?)null), (fired.Cursor, fired.Runs, fired.LastRunAt, fired.LastTaskId, fired.Pending));
        Assert.Equal(ScheduleAction.Wait, Decide(Every(10), fired, 25).Action);
    }

    [Fact]
    public void Resume_DropsOccurrencesThatCameWhilePaused()
    {
        var paused = ScheduleRules.Pause(new ScheduleProgress { Cursor = At(10), Runs = 1 });
        Assert.Equal(ScheduleState.Paused, ScheduleRules.StateOf(paused));

        var resumed = ScheduleRules.Resume(paused, At(55));

        Assert.Equal(ScheduleState.Active, ScheduleRules.StateOf(resumed));
        Assert.Equal(new ScheduleDecision(ScheduleAction.Wait, At(60)), Decide(Every(10), resumed, 55));
        Assert.Equal(new ScheduleDecision(ScheduleAction.Fire, At(60)), Decide(Every(10), resumed, 60));
    }

    [Fact]
    public void NextRunAt_ShowsTheOverdueOccurrence_OrTheNext_AndNothingWhenOver()
    {
        var clock = ScheduleClock.For(Every(10, maxRuns: 2), s_created);

        Assert.Equal(At(10), ScheduleRules.NextRunAt(clock, Every(10, maxRuns: 2), s_fresh, At(3)));
        Assert.Equal(At(40), ScheduleRules.NextRunAt(clock, Every(10, maxRuns: 2), new() { Cursor = At(10), Runs = 1 }, At(45)));
        Assert.Null(ScheduleRules.NextRunAt(clock, Every(10, maxRuns: 2), new() { Cursor = At(20), Runs = 2 }, At(25)));
        Assert.Null(ScheduleRules.NextRunAt(clock, Every(10), new() { Paused = true }, At(25)));
    }

    [Fact]
    public void TasksSayWhichOccurrenceTheyStandFor_AndKeysDifferPerOccurrence()
    {
        var spec = Every(10) with { Labels = new Dictionary<string, string> { ["team"] = "a" } };

        var labels = ScheduleRules.Labels("abc", spec, At(20));

        Assert.Equal("abc", labels["schedule"]);
        Assert.Equal("2026-01-01T00:00:20Z", labels["occurrence"]);
        Assert.Equal("a", labels["team"]);
        Assert.Equal("schedule:abc:2026-01-01T00:00:20Z", ScheduleRules.IdempotencyKey("abc", At(20)));
        Assert.NotEqual(ScheduleRules.IdempotencyKey("abc", At(20)), ScheduleRules.IdempotencyKey("abc", At(20).AddMilliseconds(1)));
    }
}

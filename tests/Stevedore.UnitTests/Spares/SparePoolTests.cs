using Stevedore.Execution.Docker.Spares;

namespace Stevedore.UnitTests.Spares;

/// <summary>Which job versions keep pre-started containers, how many, and when they go: the pool on its own.</summary>
public class SparePoolTests
{
    private static readonly DateTimeOffset s_t0 = new(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan s_idle = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan s_backoff = TimeSpan.FromSeconds(10);

    // The definition of a version (a fingerprint of its spec); one for every version below unless a test says otherwise.
    private const string D = "spec";

    private static SparePool<string> Pool(int perJob = 4, int max = 16) => new(perJob, max, s_idle, s_backoff);

    private static (string? Spare, int ToStart, List<string> Retired) Begin(SparePool<string> pool, string job, long version, double seconds = 0)
    {
        var retired = new List<string>();
        var spare = pool.Begin(job, version, D, s_t0.AddSeconds(seconds), out var toStart, retired);
        return (spare, toStart, retired);
    }

    [Fact]
    public void FirstTask_RunsCold_AndStartsOneSpare_WhichTheNextTaskTakes()
    {
        var pool = Pool();
        var first = Begin(pool, "a", 1);
        Assert.Null(first.Spare);
        Assert.Equal(1, first.ToStart);
        Assert.True(pool.Started("a", 1, D, pool.Generation, "s1"));
        pool.End("a", 1, D, s_t0.AddSeconds(1));

        var second = Begin(pool, "a", 1, 2);
        Assert.Equal("s1", second.Spare);
        Assert.Equal(1, second.ToStart); // the one taken is replaced
        Assert.Equal(1, pool.Held);
    }

    [Fact]
    public void WhileAStartIsUnderWay_ANextTaskStartsNoSecond()
    {
        var pool = Pool();
        Begin(pool, "a", 1);
        pool.End("a", 1, D, s_t0);
        var next = Begin(pool, "a", 1, 1);
        Assert.Null(next.Spare); // still starting: it runs cold
        Assert.Equal(0, next.ToStart);
    }

    [Fact]
    public void SparesFollowHowManyRunAtOnce_UpToPerJob_AndTheNodeCap()
    {
        var pool = Pool(perJob: 3, max: 5);
        var starts = Enumerable.Range(0, 5).Select(_ => Begin(pool, "a", 1).ToStart).ToList();
        Assert.Equal([1, 1, 1, 0, 0], starts); // 1, 2, 3 running want 1, 2, 3 spares; then perJob caps
        var other = Enumerable.Range(0, 3).Select(_ => Begin(pool, "b", 7).ToStart).ToList();
        Assert.Equal([1, 1, 0], other); // the node holds at most 5
        Assert.Equal(5, pool.Held);
    }

    [Fact]
    public void ANewVersion_RetiresTheOldOnesSpares_AndTheirStartsInFlight()
    {
        var pool = Pool();
        Begin(pool, "a", 1);
        Begin(pool, "a", 1);
        var generation = pool.Generation;
        Assert.True(pool.Started("a", 1, D, generation, "old1"));
        pool.End("a", 1, D, s_t0);
        pool.End("a", 1, D, s_t0);

        var v2 = Begin(pool, "a", 2);
        Assert.Null(v2.Spare);
        Assert.Equal(["old1"], v2.Retired);
        Assert.False(pool.Started("a", 1, D, generation, "old2")); // started for version 1: the caller removes it
        Assert.Equal(1, pool.Held); // only version 2's start
    }

    [Fact]
    public void ATaskOfAnOlderVersion_RunsCold_AndKeepsTheNewerOnesSpares()
    {
        var pool = Pool();
        Begin(pool, "a", 2);
        Assert.True(pool.Started("a", 2, D, pool.Generation, "v2"));
        var old = Begin(pool, "a", 1);
        Assert.Null(old.Spare);
        Assert.Equal(0, old.ToStart);
        Assert.Empty(old.Retired);
        pool.End("a", 1, D, s_t0);
        Assert.Equal("v2", Begin(pool, "a", 2).Spare);
    }

    [Fact]
    public void RetireOnJobChange_TakesOtherVersions_AndAllWhenDeleted()
    {
        var pool = Pool();
        Begin(pool, "a", 3);
        pool.Started("a", 3, D, pool.Generation, "v3");
        Assert.Empty(pool.Retire("a", 3));
        Assert.Equal(["v3"], pool.Retire("a", null));
        Assert.Equal(0, pool.Held);
        Assert.Empty(pool.Retire("unknown", 1));
    }

    [Fact]
    public void IdleVersions_LoseTheirSpares_ButNotWhileATaskRuns()
    {
        var pool = Pool();
        Begin(pool, "busy", 1);
        pool.Started("busy", 1, D, pool.Generation, "b");
        Begin(pool, "idle", 1);
        pool.Started("idle", 1, D, pool.Generation, "i");
        pool.End("idle", 1, D, s_t0.AddSeconds(1));

        Assert.Empty(pool.Expire(s_t0.AddSeconds(30)));
        Assert.Equal(["i"], pool.Expire(s_t0.AddSeconds(31)));
        Assert.Empty(pool.Expire(s_t0.AddHours(1))); // "busy" still runs its task
        Assert.Equal(1, pool.Held);
    }

    [Fact]
    public void AFailedStart_BacksOff_ThenTriesAgain()
    {
        var pool = Pool();
        Begin(pool, "a", 1);
        pool.StartFailed("a", 1, D, pool.Generation, s_t0);
        pool.End("a", 1, D, s_t0);
        Assert.Equal(0, pool.Held);
        Assert.Equal(0, Begin(pool, "a", 1, 5).ToStart);
        pool.End("a", 1, D, s_t0.AddSeconds(5));
        Assert.Equal(1, Begin(pool, "a", 1, 10).ToStart);
    }

    [Fact]
    public void ASpareThatEnded_IsForgotten_AndDrainTakesEverything_AndRefusesStartsBeforeIt()
    {
        var pool = Pool();
        Begin(pool, "a", 1);
        Begin(pool, "a", 1);
        var before = pool.Generation;
        pool.Started("a", 1, D, before, "s1");
        Assert.True(pool.Forget("a", "s1"));
        Assert.False(pool.Forget("a", "s1"));
        Assert.Equal(1, pool.Held); // the other is still starting

        Begin(pool, "b", 1);
        pool.Started("b", 1, D, pool.Generation, "b1");
        Assert.Equal(["b1"], pool.Drain());
        Assert.Equal(0, pool.Held);
        Assert.False(pool.Started("a", 1, D, before, "late")); // began before the drain
    }

    [Fact]
    public void TheSameVersionNumber_WithAnotherDefinition_IsANewVersion()
    {
        // A job deleted and made again starts at version 1: its old spares must not serve the new definition.
        var pool = Pool();
        pool.Begin("a", 1, "image A", s_t0, out _, []);
        var generation = pool.Generation;
        Assert.True(pool.Started("a", 1, "image A", generation, "A1"));
        pool.End("a", 1, "image A", s_t0);

        var retired = new List<string>();
        Assert.Null(pool.Begin("a", 1, "image B", s_t0, out var toStart, retired));
        Assert.Equal(["A1"], retired);
        Assert.Equal(1, toStart);
        Assert.False(pool.Started("a", 1, "image A", generation, "A2")); // a start for the old definition, still under way
        Assert.True(pool.Started("a", 1, "image B", generation, "B1"));
    }

    [Fact]
    public void AfterAJobChange_ATaskOfAnOlderVersion_StartsNoSpare_UntilTheJobIsDeleted()
    {
        var pool = Pool();
        pool.Retire("a", 3);
        Assert.Equal(0, Begin(pool, "a", 2).ToStart); // a straggler leased before the change
        Assert.Equal(1, Begin(pool, "a", 3).ToStart);
        pool.Retire("a", null); // deleted: made again, it starts at version 1
        Assert.Equal(1, Begin(pool, "a", 1).ToStart);
    }

    [Fact]
    public void AStartThatFailedForAPassingCause_IsTriedAgainAtTheNextTask()
    {
        var pool = Pool();
        Begin(pool, "a", 1);
        pool.StartFailed("a", 1, D, pool.Generation, s_t0, backOff: false);
        pool.End("a", 1, D, s_t0);
        Assert.Equal(1, Begin(pool, "a", 1, 1).ToStart);
        Assert.Equal(0, pool.Ready("a"));
        pool.Started("a", 1, D, pool.Generation, "s");
        Assert.Equal(1, pool.Ready("a"));
    }
}

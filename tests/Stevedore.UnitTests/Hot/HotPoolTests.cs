using Stevedore.Execution.Hot;

namespace Stevedore.UnitTests.Hot;

/// <summary>Which hot container serves which task, and when one retires: <see cref="HotPool"/> on a fake clock.</summary>
public class HotPoolTests
{
    private static readonly DateTimeOffset s_t0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly HotSpec s_one = new() { MaxPerNode = 1, IdleSeconds = 60 };
    private static readonly HotSpec s_two = new() { MaxPerNode = 2, IdleSeconds = 60 };

    private static DateTimeOffset At(double seconds) => s_t0.AddSeconds(seconds);

    [Fact]
    public void FirstTask_StartsAContainer_TheNextReusesItOnceReleased()
    {
        var pool = new HotPool(nodeCapacity: 8);
        var first = pool.Acquire("a", 1, s_one, At(0));
        Assert.Equal(HotAcquireKind.Start, first.Kind);
        Assert.False(pool.Release(first.Container, reusable: true, At(1)));

        var second = pool.Acquire("a", 1, s_one, At(2));
        Assert.Equal((HotAcquireKind.Use, first.Container), (second.Kind, second.Container));
        Assert.Empty(second.Retire);
    }

    // The table: max per node, containers busy before the ask → what the ask gets.
    [Theory]
    [InlineData(1, 1, HotAcquireKind.Wait)]
    [InlineData(2, 1, HotAcquireKind.Start)]
    [InlineData(2, 2, HotAcquireKind.Wait)]
    [InlineData(3, 2, HotAcquireKind.Start)]
    public void BusyContainers_UpToMaxPerNode_ThenTasksWait(int maxPerNode, int busy, HotAcquireKind expected)
    {
        var pool = new HotPool(nodeCapacity: 8);
        var spec = new HotSpec { MaxPerNode = maxPerNode, IdleSeconds = 60 };
        for (var i = 0; i < busy; i++)
        {
            Assert.Equal(HotAcquireKind.Start, pool.Acquire("a", 1, spec, At(0)).Kind);
        }

        Assert.Equal(expected, pool.Acquire("a", 1, spec, At(0)).Kind);
    }

    [Fact]
    public void ANewVersion_RetiresIdleOldContainersAtOnce_AndBusyOnesWhenReleased()
    {
        var pool = new HotPool(nodeCapacity: 8);
        var idle = pool.Acquire("a", 1, s_two, At(0));
        var busy = pool.Acquire("a", 1, s_two, At(0));
        pool.Release(idle.Container, true, At(1));

        var v2 = pool.Acquire("a", 2, s_two, At(2));
        Assert.Equal(HotAcquireKind.Start, v2.Kind);
        Assert.Equal([idle.Container], v2.Retire);
        Assert.True(pool.Release(busy.Container, reusable: true, At(3)), "a busy container of the old version stops after its task");
        Assert.False(pool.Release(v2.Container, reusable: true, At(3)));
    }

    [Fact]
    public void ATaskOfAnOlderVersion_GetsAOneOffContainer_NotAWaitForever()
    {
        var pool = new HotPool(nodeCapacity: 8);
        var v2 = pool.Acquire("a", 2, s_one, At(0));
        var v1 = pool.Acquire("a", 1, s_one, At(0));
        Assert.Equal(HotAcquireKind.Start, v1.Kind);
        Assert.True(pool.Release(v1.Container, reusable: true, At(1)), "the old version's container stops after its one task");
        Assert.False(pool.Release(v2.Container, reusable: true, At(1)));
    }

    [Fact]
    public void AnUncleanEnd_StopsTheContainer_AndTheNextTaskGetsAFreshOne()
    {
        var pool = new HotPool(nodeCapacity: 8);
        var first = pool.Acquire("a", 1, s_one, At(0));
        Assert.True(pool.Release(first.Container, reusable: false, At(1)));

        var next = pool.Acquire("a", 1, s_one, At(2));
        Assert.Equal(HotAcquireKind.Start, next.Kind);
        Assert.NotEqual(first.Container, next.Container);
    }

    // idle seconds, seconds since the last task → retired?
    [Theory]
    [InlineData(60, 59.999, false)]
    [InlineData(60, 60, true)]
    [InlineData(1, 1, true)]
    [InlineData(1, 0.5, false)]
    public void IdleContainers_RetireAfterIdleSeconds(int idleSeconds, double since, bool retired)
    {
        var pool = new HotPool(nodeCapacity: 8);
        var c = pool.Acquire("a", 1, new HotSpec { MaxPerNode = 1, IdleSeconds = idleSeconds }, At(0));
        pool.Release(c.Container, true, At(10));

        Assert.Equal(retired ? [c.Container] : Array.Empty<long>(), pool.Expired(At(10 + since)));
        Assert.Equal(retired ? 0 : 1, pool.Count);
    }

    [Fact]
    public void BusyContainers_NeverExpire()
    {
        var pool = new HotPool(nodeCapacity: 8);
        pool.Acquire("a", 1, s_one, At(0));
        Assert.Empty(pool.Expired(At(3600)));
    }

    [Theory]
    [InlineData(null, 2)] // paused or deleted: all of them
    [InlineData(1L, 1)]   // put again at version 1 without a change: keeps version 1
    [InlineData(2L, 2)]   // version 2 now: version 1's go
    public void RetireJob_StopsIdleContainersNow_BusyOnesOnRelease(long? keep, int retiredNowOrLater)
    {
        var pool = new HotPool(nodeCapacity: 8);
        var idle = pool.Acquire("a", 1, s_two, At(0));
        var busy = pool.Acquire("a", 1, s_two, At(0));
        var other = pool.Acquire("b", 1, s_one, At(0));
        pool.Release(idle.Container, true, At(1));

        var now = pool.RetireJob("a", keep);
        var later = pool.Release(busy.Container, true, At(2));

        Assert.Equal(retiredNowOrLater, now.Count + (later ? 1 : 0) + (keep == 1 ? 1 : 0));
        Assert.Equal(keep == 1 ? Array.Empty<long>() : [idle.Container], now);
        Assert.Equal(keep != 1, later);
        Assert.False(pool.Release(other.Container, true, At(2)), "another job's container is untouched");
    }

    [Fact]
    public void AFullNode_RetiresTheLeastRecentlyUsedIdleContainer_OfAnyJob()
    {
        var pool = new HotPool(nodeCapacity: 2);
        var a = pool.Acquire("a", 1, s_one, At(0));
        var b = pool.Acquire("b", 1, s_one, At(0));
        pool.Release(a.Container, true, At(1));
        pool.Release(b.Container, true, At(2));

        var c = pool.Acquire("c", 1, s_one, At(3));
        Assert.Equal(HotAcquireKind.Start, c.Kind);
        Assert.Equal([a.Container], c.Retire);
        Assert.Equal(2, pool.Count);
    }

    [Fact]
    public void AFullNode_OfBusyContainers_MakesTheTaskWait()
    {
        var pool = new HotPool(nodeCapacity: 1);
        pool.Acquire("a", 1, s_one, At(0));
        Assert.Equal(HotAcquireKind.Wait, pool.Acquire("b", 1, s_one, At(0)).Kind);
    }

    [Fact]
    public void MostRecentlyUsedIdleContainer_IsChosen_SoTheOthersAgeOut()
    {
        var pool = new HotPool(nodeCapacity: 8);
        var x = pool.Acquire("a", 1, s_two, At(0));
        var y = pool.Acquire("a", 1, s_two, At(0));
        pool.Release(x.Container, true, At(5));
        pool.Release(y.Container, true, At(1));

        Assert.Equal(x.Container, pool.Acquire("a", 1, s_two, At(6)).Container);
    }

    [Fact]
    public void AContainerThatFailedToStart_IsForgotten()
    {
        var pool = new HotPool(nodeCapacity: 8);
        var c = pool.Acquire("a", 1, s_one, At(0));
        pool.Forget(c.Container);
        Assert.Equal(0, pool.Count);
        Assert.Equal(HotAcquireKind.Start, pool.Acquire("a", 1, s_one, At(0)).Kind);
    }
}

using Stevedore.Grains;

namespace Stevedore.UnitTests;

public class TaskLocksTests
{
    [Fact]
    public async Task ASecondCaller_WaitsUntilTheFirstLetsGo()
    {
        var locks = new TaskLocks();
        var first = await locks.AcquireAsync("a");

        var second = locks.AcquireAsync("a").AsTask();

        Assert.False(second.IsCompleted);
        Assert.True(locks.IsHeld("a"));
        first.Dispose();
        using var held = await second.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.True(locks.IsHeld("a"));
    }

    [Fact]
    public async Task OtherTasks_DoNotWait()
    {
        var locks = new TaskLocks();
        using var a = await locks.AcquireAsync("a");

        var b = locks.AcquireAsync("b");

        Assert.True(b.IsCompleted);
        Assert.Equal(2, locks.Count);
        (await b).Dispose();
        Assert.False(locks.IsHeld("b"));
    }

    [Fact]
    public async Task ManyWaiters_GetInOneAtATime_AndNothingIsLeftHeld()
    {
        // One turn at a time, as in a grain: every continuation runs on one exclusive scheduler.
        var grainLike = new ConcurrentExclusiveSchedulerPair().ExclusiveScheduler;
        var locks = new TaskLocks();
        var inside = 0;
        var most = 0;
        var order = new List<int>();
        var run = await Task.Factory.StartNew(async () =>
        {
            var first = await locks.AcquireAsync("a");
            var waiters = Enumerable.Range(0, 5).Select(async i =>
            {
                using var held = await locks.AcquireAsync("a");
                most = Math.Max(most, ++inside);
                await Task.Yield();
                order.Add(i);
                inside--;
            }).ToList();
            Assert.Equal(0, most);
            first.Dispose();
            await Task.WhenAll(waiters);
        }, CancellationToken.None, TaskCreationOptions.None, grainLike);

        await run.WaitAsync(TimeSpan.FromSeconds(5));

        Assert.Equal(1, most);
        Assert.Equal(5, order.Distinct().Count());
        Assert.Equal(0, locks.Count);
    }

    [Fact]
    public async Task DisposingTwice_DoesNotLetGoOfALaterHolder()
    {
        var locks = new TaskLocks();
        var first = await locks.AcquireAsync("a");
        first.Dispose();
        using var second = await locks.AcquireAsync("a");

        first.Dispose();

        Assert.True(locks.IsHeld("a"));
    }
}

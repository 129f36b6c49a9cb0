using Stevedore.Storage.Postgres;

namespace Stevedore.UnitTests;

/// <summary>How the PostgreSQL stores coalesce concurrent calls: one flush at a time, what queues meanwhile together.</summary>
public sealed class BatcherTests
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(10);

    /// <summary>A flush function that records each flush, and holds any flush holding <paramref name="holdOn"/> until released.</summary>
    private sealed class Flushes(int holdOn)
    {
        public List<int[]> Seen { get; } = [];
        public TaskCompletionSource Held { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public int? FailOn { get; init; }

        public async Task<IReadOnlyList<int>> FlushAsync(IReadOnlyList<int> items)
        {
            lock (Seen)
            {
                Seen.Add([.. items]);
            }

            if (items.Contains(holdOn))
            {
                Held.TrySetResult();
                await Release.Task;
            }

            if (FailOn is { } bad && items.Contains(bad))
            {
                throw new InvalidOperationException($"item {bad} refused");
            }

            return items.Select(i => i * 10).ToList();
        }
    }

    [Fact]
    public async Task AnIdleCallersItem_IsFlushedAtOnce_Alone()
    {
        var flushes = new Flushes(holdOn: -1);
        var batcher = new Batcher<int, int>(flushes.FlushAsync);

        Assert.Equal(70, await batcher.RunAsync(7).WaitAsync(s_wait));
        Assert.Equal([[7]], flushes.Seen);
    }

    [Fact]
    public async Task ItemsQueuedWhileAFlushRuns_GoTogetherInTheNextFlush_InOrder()
    {
        var flushes = new Flushes(holdOn: 0);
        var batcher = new Batcher<int, int>(flushes.FlushAsync);
        var first = batcher.RunAsync(0);
        await flushes.Held.Task.WaitAsync(s_wait);

        var rest = Enumerable.Range(1, 20).Select(batcher.RunAsync).ToList();
        Assert.Single(flushes.Seen); // one flush at a time: nothing else started
        flushes.Release.SetResult();

        Assert.Equal(0, await first.WaitAsync(s_wait));
        Assert.Equal(Enumerable.Range(1, 20).Select(i => i * 10), await Task.WhenAll(rest).WaitAsync(s_wait));
        Assert.Equal(2, flushes.Seen.Count);
        Assert.Equal(Enumerable.Range(1, 20), flushes.Seen[1]);
    }

    [Fact]
    public async Task AFlushTakesAtMostMaxBatch_AndTheRestFollows()
    {
        var flushes = new Flushes(holdOn: 0);
        var batcher = new Batcher<int, int>(flushes.FlushAsync, maxBatch: 3);
        var first = batcher.RunAsync(0);
        await flushes.Held.Task.WaitAsync(s_wait);
        var rest = Enumerable.Range(1, 7).Select(batcher.RunAsync).ToList();
        flushes.Release.SetResult();

        await Task.WhenAll(rest.Append(first)).WaitAsync(s_wait);
        Assert.Equal([[0], [1, 2, 3], [4, 5, 6], [7]], flushes.Seen);
    }

    [Fact]
    public async Task WithTwoFlushesAllowed_ASecondStartsWhileTheFirstIsHeld()
    {
        var flushes = new Flushes(holdOn: 0);
        var batcher = new Batcher<int, int>(flushes.FlushAsync, maxFlushes: 2);
        var first = batcher.RunAsync(0);
        await flushes.Held.Task.WaitAsync(s_wait);

        Assert.Equal(10, await batcher.RunAsync(1).WaitAsync(s_wait));
        Assert.False(first.IsCompleted);
        flushes.Release.SetResult();
        Assert.Equal(0, await first.WaitAsync(s_wait));
    }

    [Fact]
    public async Task AnItemThatFailsABatch_FailsAlone_TheOthersAreFlushedOneByOne()
    {
        var flushes = new Flushes(holdOn: 0) { FailOn = 13 };
        var batcher = new Batcher<int, int>(flushes.FlushAsync);
        var first = batcher.RunAsync(0);
        await flushes.Held.Task.WaitAsync(s_wait);
        var rest = Enumerable.Range(10, 6).ToDictionary(i => i, batcher.RunAsync);
        flushes.Release.SetResult();

        await first.WaitAsync(s_wait);
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => rest[13].WaitAsync(s_wait));
        Assert.Contains("13", refused.Message, StringComparison.Ordinal);
        foreach (var i in rest.Keys.Where(i => i != 13))
        {
            Assert.Equal(i * 10, await rest[i].WaitAsync(s_wait));
        }

        // The batch once, then each of its items alone.
        Assert.Equal([[0], [10, 11, 12, 13, 14, 15], [10], [11], [12], [13], [14], [15]], flushes.Seen);
    }
}

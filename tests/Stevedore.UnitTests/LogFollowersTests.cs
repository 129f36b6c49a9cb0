using Microsoft.Extensions.Time.Testing;
using Stevedore.Application;
using Stevedore.Storage;
using Stevedore.Storage.Memory;

namespace Stevedore.UnitTests;

public class LogFollowersTests
{
    private static readonly DateTimeOffset s_now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly CountingTime _time = new(s_now);
    private readonly CountingStore _tasks = new();
    private readonly MemoryTaskEvents _events = new();

    private LogFollowers Followers(int perTask, int perNode) =>
        new(_tasks, _events, Microsoft.Extensions.Options.Options.Create(new LogOptions { MaxFollowersPerTask = perTask, MaxFollowersPerNode = perNode }), _time);

    private async Task<string> RunningTaskAsync()
    {
        var task = new TaskRecord { Id = TaskIds.New(s_now), Job = "j", Status = TaskRunStatus.Running, CreatedAt = s_now, Labels = new Dictionary<string, string>() };
        await _tasks.InsertAsync([task]);
        return task.Id;
    }

    [Fact]
    public async Task Caps_PerTaskAndPerNode_RefuseWithRetryAfter_AndLeavingMakesRoom()
    {
        var followers = Followers(perTask: 2, perNode: 3);
        var (a, b, c) = (await RunningTaskAsync(), await RunningTaskAsync(), await RunningTaskAsync());

        var a1 = followers.Join(a).Value!;
        using var a2 = followers.Join(a).Value!;
        var refusedA = followers.Join(a);
        using var b1 = followers.Join(b).Value!;
        var refusedC = followers.Join(c);

        Assert.Equal((AppErrorKind.Busy, true), (refusedA.Error?.Kind, refusedA.Error!.Detail.Contains("MaxFollowersPerTask", StringComparison.Ordinal)));
        Assert.Equal((AppErrorKind.Busy, true), (refusedC.Error?.Kind, refusedC.Error!.Detail.Contains("MaxFollowersPerNode", StringComparison.Ordinal)));
        Assert.NotNull(refusedA.Error.RetryAfter);
        Assert.Equal(3, followers.Count);

        a1.Dispose();
        a1.Dispose();
        Assert.Equal(2, followers.Count);
        using var c1 = followers.Join(c).Value!;
        Assert.Equal(3, followers.Count);
    }

    [Fact]
    public async Task FollowersOfATask_ShareOneStatusRead_PerInterval_AndWakeOnAChange()
    {
        var followers = Followers(perTask: 100, perNode: 100);
        var id = await RunningTaskAsync();
        var joined = Enumerable.Range(0, 50).Select(_ => followers.Join(id).Value!).ToList();
        var first = await Wait.ForAsync(Task.WhenAll(joined.Select(f => f.CurrentAsync())), "the first status read");
        Assert.All(first, s => Assert.Equal(TaskRunStatus.Running, s.Task!.Status));
        Assert.Equal(1, _tasks.Reads);

        for (var interval = 1; interval <= 3; interval++)
        {
            // Move the clock only once the reader is waiting out its interval: moved before its timer exists, the
            // clock would leave that timer a whole interval in the future.
            await Wait.UntilAsync(() => _time.Timers >= interval, $"the reader's wait after status read {interval}");
            _time.Advance(LogFollowers.StatusInterval);
            await Wait.UntilAsync(() => _tasks.Reads >= 1 + interval, $"status read {interval + 1}");
        }

        // Unchanged: nobody was woken. A change this node hears of is read at once and wakes everyone.
        Assert.DoesNotContain(first, s => s.Next.IsCompleted);
        await _tasks.UpdateAsync((await _tasks.GetAsync(id))! with { Status = TaskRunStatus.Succeeded });
        _events.Publish(id);
        await Wait.ForAsync(Task.WhenAll(first.Select(s => s.Next)), "every follower to wake on the change");
        Assert.Equal(TaskRunStatus.Succeeded, (await joined[0].CurrentAsync()).Task!.Status);
        Assert.InRange(_tasks.Reads, 5, 6);
        joined.ForEach(f => f.Dispose());
    }

    /// <summary>The fake clock, counting the timers made on it.</summary>
    private sealed class CountingTime(DateTimeOffset start) : FakeTimeProvider(start)
    {
        private int _timers;

        public int Timers => Volatile.Read(ref _timers);

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            var timer = base.CreateTimer(callback, state, dueTime, period);
            Interlocked.Increment(ref _timers);
            return timer;
        }
    }

    /// <summary>The memory store, counting record reads.</summary>
    private sealed class CountingStore : ITaskStore
    {
        private readonly MemoryTaskStore _inner = new();
        private int _reads;

        public int Reads => Volatile.Read(ref _reads);

        public Task<TaskRecord?> GetAsync(string id, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _reads);
            return _inner.GetAsync(id, cancellationToken);
        }

        public Task<IReadOnlyList<string>> InsertAsync(IReadOnlyList<TaskRecord> tasks, CancellationToken cancellationToken = default) => _inner.InsertAsync(tasks, cancellationToken);
        public Task UpdateAsync(TaskRecord task, DateTimeOffset? leaseUntil = null, CancellationToken cancellationToken = default) => _inner.UpdateAsync(task, leaseUntil, cancellationToken);
        public Task RenewLeasesAsync(IReadOnlyCollection<string> taskIds, DateTimeOffset until, CancellationToken cancellationToken = default) => _inner.RenewLeasesAsync(taskIds, until, cancellationToken);
        public Task<IReadOnlyList<TaskRecord>> FindLapsedLeasesAsync(DateTimeOffset now, int max, CancellationToken cancellationToken = default) => _inner.FindLapsedLeasesAsync(now, max, cancellationToken);
        public Task<TaskPage> QueryAsync(TaskQuery query, CancellationToken cancellationToken = default) => _inner.QueryAsync(query, cancellationToken);
        public Task<IReadOnlyDictionary<TaskRunStatus, long>> CountByStatusAsync(string job, CancellationToken cancellationToken = default) => _inner.CountByStatusAsync(job, cancellationToken);
        public Task<long> CountQueuedAsync(string job, CancellationToken cancellationToken = default) => _inner.CountQueuedAsync(job, cancellationToken);
        public Task<QueuedWindow> LoadQueuedSinceAsync(int partition, DateTimeOffset since, TimeSpan settle, CancellationToken cancellationToken = default) => _inner.LoadQueuedSinceAsync(partition, since, settle, cancellationToken);
        public Task<IReadOnlyList<string>> LoadRunningAsync(string job, CancellationToken cancellationToken = default) => _inner.LoadRunningAsync(job, cancellationToken);
        public Task<IReadOnlyDictionary<string, IReadOnlyDictionary<TaskRunStatus, long>>> CountAllByStatusAsync(CancellationToken cancellationToken = default) => _inner.CountAllByStatusAsync(cancellationToken);
        public Task<IReadOnlyList<string>> FindExpiredAsync(RetentionCutoffs cutoffs, int max, CancellationToken cancellationToken = default) => _inner.FindExpiredAsync(cutoffs, max, cancellationToken);
        public Task<IReadOnlyList<string>> DeleteFinishedAsync(IReadOnlyList<string> ids, CancellationToken cancellationToken = default) => _inner.DeleteFinishedAsync(ids, cancellationToken);
        public Task<int> DeleteLapsedIdempotencyKeysAsync(DateTimeOffset claimedBefore, int max, CancellationToken cancellationToken = default) => _inner.DeleteLapsedIdempotencyKeysAsync(claimedBefore, max, cancellationToken);
    }
}

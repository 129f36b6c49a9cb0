using System.Diagnostics;
using Stevedore.Application;
using Stevedore.Storage;

namespace Stevedore.Benchmarks;

/// <summary>
/// The pieces every control-plane race shares, so both sides of a race enqueue the same way and stop their clock on
/// the same condition: single enqueues from <see cref="Callers"/> concurrent callers, batch enqueues of
/// <see cref="Batch"/>, and "finished" = the store shows the final state written, polled every 10 ms.
/// </summary>
public static class Lifecycle
{
    /// <summary>Concurrent callers of single enqueues, on every side of a race (the HTTP scenario's connections too).</summary>
    public const int Callers = 16;

    public const int Batch = 1000;

    /// <summary>How many tasks a store shows ended, and how many of them succeeded.</summary>
    public delegate Task<(long Ended, long Succeeded)> Counter();

    /// <summary>Enqueues <paramref name="n"/> tasks one per call from <see cref="Callers"/> concurrent callers.</summary>
    public static Task EnqueueSingleAsync(TaskService tasks, string job, int n) =>
        FromCallersAsync(n, async () =>
        {
            var result = await tasks.EnqueueAsync(job, new TaskDraft());
            if (!result.Ok)
            {
                throw new InvalidOperationException(result.Error!.Detail);
            }
        });

    /// <summary>Enqueues <paramref name="n"/> tasks in calls of <see cref="Batch"/>, one call after another.</summary>
    public static async Task EnqueueBatchAsync(TaskService tasks, string job, int n)
    {
        for (var done = 0; done < n; done += Batch)
        {
            var count = Math.Min(Batch, n - done);
            var result = await tasks.EnqueueBatchAsync(job, Enumerable.Repeat(new TaskDraft(), count).ToList());
            if (!result.Ok)
            {
                throw new InvalidOperationException(result.Error!.Detail);
            }
        }
    }

    /// <summary>
    /// Runs <paramref name="call"/> <paramref name="n"/> times from <see cref="Callers"/> callers, each on a thread of
    /// its own, so a synchronous client (Hangfire's) gets the same concurrency as an asynchronous one.
    /// </summary>
    public static Task FromCallersAsync(int n, Func<Task> call)
    {
        var next = -1;
        return Task.WhenAll(Enumerable.Range(0, Callers).Select(_ => Task.Factory.StartNew(async () =>
        {
            while (Interlocked.Increment(ref next) < n)
            {
                await call();
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap()));
    }

    public static Counter StoreCounter(ITaskStore store, string job) => async () =>
    {
        var counts = await store.CountByStatusAsync(job);
        var ended = counts.Where(c => c.Key.IsTerminal()).Sum(c => c.Value);
        return (ended, counts[TaskRunStatus.Succeeded]);
    };

    /// <summary>Waits until <paramref name="count"/> shows <paramref name="n"/> ended, and checks they all succeeded.</summary>
    public static async Task WaitFinishedAsync(Counter count, long n, string what)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var (ended, succeeded) = await count();
            if (ended >= n)
            {
                if (succeeded < n)
                {
                    throw new InvalidOperationException($"only {succeeded} of {n} {what} succeeded");
                }

                return;
            }

            if (deadline.Elapsed > TimeSpan.FromMinutes(10))
            {
                throw new TimeoutException($"{ended} of {n} {what} ended in 10 minutes");
            }

            await Task.Delay(10);
        }
    }
}

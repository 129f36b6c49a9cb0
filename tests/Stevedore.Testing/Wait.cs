using System.Diagnostics;
using Xunit;

namespace Stevedore.Testing;

/// <summary>
/// The one way tests wait: for an event (a task that completes) or for a condition (polled), always with a deadline,
/// failing with a message that says what was awaited and what was last seen. No test sleeps for a fixed time.
/// </summary>
/// <remarks>
/// Deadlines are generous on purpose: up to four test collections share two busy cores, so they bound a hang, they
/// do not measure speed (the benchmark suite does that). A condition is polled often at first, then less.
/// </remarks>
public static class Wait
{
    /// <summary>The deadline when a call gives none.</summary>
    public static readonly TimeSpan DefaultDeadline = TimeSpan.FromSeconds(60);

    private static readonly TimeSpan s_firstPoll = TimeSpan.FromMilliseconds(10);
    private static readonly TimeSpan s_maxPoll = TimeSpan.FromMilliseconds(250);

    /// <summary>Waits for <paramref name="task"/> to complete (and rethrows its failure).</summary>
    public static async Task ForAsync(Task task, string what, TimeSpan? deadline = null)
    {
        var limit = deadline ?? DefaultDeadline;
        try
        {
            await task.WaitAsync(limit);
        }
        catch (TimeoutException) when (!task.IsCompleted)
        {
            Assert.Fail($"Waited {Seconds(limit)} for {what}; it did not happen.");
        }
    }

    /// <summary>Waits for <paramref name="task"/> to complete and returns its result.</summary>
    public static async Task<T> ForAsync<T>(Task<T> task, string what, TimeSpan? deadline = null)
    {
        await ForAsync((Task)task, what, deadline);
        return await task;
    }

    /// <summary>Polls <paramref name="condition"/> until it holds.</summary>
    public static Task UntilAsync(Func<bool> condition, string what, TimeSpan? deadline = null) =>
        UntilAsync(() => Task.FromResult(condition()), ok => ok, what, deadline, describe: null);

    /// <summary>Polls <paramref name="condition"/> until it holds.</summary>
    public static Task UntilAsync(Func<Task<bool>> condition, string what, TimeSpan? deadline = null) =>
        UntilAsync(condition, ok => ok, what, deadline, describe: null);

    /// <summary>
    /// Reads <paramref name="probe"/> until its value satisfies <paramref name="done"/>, and returns that value. On
    /// failure the message shows the last value read (through <paramref name="describe"/> when given).
    /// </summary>
    public static async Task<T> UntilAsync<T>(
        Func<Task<T>> probe, Func<T, bool> done, string what, TimeSpan? deadline = null, Func<T, string>? describe = null)
    {
        var limit = deadline ?? DefaultDeadline;
        var clock = Stopwatch.StartNew();
        var poll = s_firstPoll;
        while (true)
        {
            var value = await probe();
            if (done(value))
            {
                return value;
            }

            if (clock.Elapsed >= limit)
            {
                var last = describe is null ? value?.ToString() : describe(value);
                Assert.Fail($"Waited {Seconds(limit)} for {what}; last seen: {last}");
            }

            await Task.Delay(poll);
            poll = TimeSpan.FromTicks(Math.Min(s_maxPoll.Ticks, poll.Ticks * 3 / 2));
        }
    }

    private static string Seconds(TimeSpan span) => $"{span.TotalSeconds:0.#} s";
}

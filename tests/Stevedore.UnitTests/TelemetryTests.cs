using System.Diagnostics;
using Stevedore.Grains;
using Stevedore.Telemetry;

namespace Stevedore.UnitTests;

public class TelemetryTests
{
    private static readonly DateTimeOffset s_now = new(2026, 1, 1, 0, 1, 0, TimeSpan.Zero);

    [Theory]
    [InlineData("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", true)]
    [InlineData("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00", true)]
    [InlineData("00-00000000000000000000000000000000-b7ad6b7169203331-01", false)] // zero trace id
    [InlineData("00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01", false)] // zero span id
    [InlineData("01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", false)] // unknown version
    [InlineData("00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01", false)] // upper case
    [InlineData("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331", false)]
    [InlineData("garbage", false)]
    [InlineData("", false)]
    [InlineData(null, false)]
    public void IsTraceParent_AcceptsOnlyWellFormedW3CContexts(string? value, bool valid) =>
        Assert.Equal(valid, StevedoreTracing.IsTraceParent(value));

    [Fact]
    public void ContextToKeep_PrefersTheEnqueueSpan_ThenAWellFormedCallerContext()
    {
        const string callers = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        using var span = new Activity("enqueue").SetIdFormat(ActivityIdFormat.W3C).Start();

        Assert.Equal(span.Id, StevedoreTracing.ContextToKeep(span, callers));
        Assert.Equal(callers, StevedoreTracing.ContextToKeep(null, callers));
        Assert.Null(StevedoreTracing.ContextToKeep(null, "bogus"));
        Assert.Null(StevedoreTracing.ContextToKeep(null, null));
    }

    // Ids made at a given time (TaskIds.New never goes back in time within a process, and other tests run later clocks).
    private static string IdAt(DateTimeOffset at, int n) =>
        (at.ToUnixTimeMilliseconds() << 16).ToString("x16", System.Globalization.CultureInfo.InvariantCulture) + n.ToString("x16", System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public void QueueDepths_CountEveryEntryPerJob_AndAgeOnlyThoseThatCouldRun()
    {
        var queue = new ReadyQueue();
        var old = IdAt(s_now.AddSeconds(-50), 1);
        var newer = IdAt(s_now.AddSeconds(-10), 2);
        var delayed = IdAt(s_now.AddSeconds(-60), 3);
        var retried = IdAt(s_now.AddSeconds(-120), 4);
        queue.Add(new QueueEntry(newer, "a", 0, null), s_now);
        queue.Add(new QueueEntry(old, "a", 0, null), s_now);
        queue.Add(new QueueEntry(delayed, "b", 0, s_now.AddSeconds(30)), s_now);
        queue.Add(new QueueEntry(retried, "c", 0, s_now.AddSeconds(-5)), s_now);

        var depths = queue.Depths(s_now);

        Assert.Equal((2, (DateTimeOffset?)s_now.AddSeconds(-50)), depths["a"]);
        Assert.Equal((1, (DateTimeOffset?)null), depths["b"]);                 // not due yet: not waiting
        Assert.Equal((1, (DateTimeOffset?)s_now.AddSeconds(-5)), depths["c"]); // waiting since its retry fell due
        Assert.True(queue.TryTake(out var taken));                              // the oldest ready one: c's
        Assert.Equal(retried, taken.TaskId);
        Assert.False(queue.Depths(s_now).ContainsKey("c"));
        Assert.Equal(2, queue.Depths(s_now)["a"].Count);
    }
}

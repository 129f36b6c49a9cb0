using Stevedore.Soak;

namespace Stevedore.UnitTests;

/// <summary>The chaos soak's invariants (tests/Stevedore.Soak/Invariants.cs), each on its own cases.</summary>
public class SoakInvariantsTests
{
    private static readonly DateTimeOffset s_t0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static readonly SoakJob[] s_jobs = [new("limited", Retries: 1, MaxConcurrency: 2, new { })];

    private static DateTimeOffset At(double seconds) => s_t0.AddSeconds(seconds);

    private static AttemptSeen Attempt(int number, string status, double start = 0, double? end = 1, string? error = null) =>
        new(number, status, At(start), end is null ? null : At(end.Value), error);

    private static TaskSeen Task(string status, params AttemptSeen[] attempts) => new("t1", "limited", status, "k-1", attempts);

    public static TheoryData<double[][], int, int, int> Overlaps() => new()
    {
        // intervals (start, end), limit → most open at once, starts over the limit
        { [], 2, 0, 0 },
        { [[0, 2], [1, 3]], 2, 2, 0 },
        { [[0, 2], [1, 3], [1.5, 4]], 2, 3, 1 },
        // One ending at the instant another starts does not overlap it.
        { [[0, 1], [1, 2], [2, 3]], 1, 1, 0 },
        { [[0, 10], [1, 2], [3, 4], [5, 6]], 1, 2, 3 },
    };

    [Theory]
    [MemberData(nameof(Overlaps))]
    public void Overlap_CountsTheMostOpenAtOnce_AndEachStartPastTheLimit(double[][] intervals, int limit, int most, int over) =>
        Assert.Equal((most, over), Invariants.Overlap(intervals.Select(i => (At(i[0]), At(i[1]))), limit));

    [Fact]
    public void RetriesExceeded_CountsOnlyAttemptsNotLostToAWorker()
    {
        var lost = Attempt(1, "failed", error: "worker lost: node n stopped renewing the lease of attempt 1");
        Assert.False(Invariants.RetriesExceeded(Task("failed", Attempt(1, "failed"), Attempt(2, "failed")), s_jobs));
        Assert.True(Invariants.RetriesExceeded(Task("failed", Attempt(1, "failed"), Attempt(2, "failed"), Attempt(3, "failed")), s_jobs));
        Assert.False(Invariants.RetriesExceeded(Task("failed", lost, Attempt(2, "failed"), Attempt(3, "failed")), s_jobs));
    }

    [Fact]
    public void SucceededTwice_IsMoreThanOneSucceededAttempt()
    {
        Assert.False(Invariants.SucceededTwice(Task("succeeded", Attempt(1, "failed"), Attempt(2, "succeeded"))));
        Assert.True(Invariants.SucceededTwice(Task("succeeded", Attempt(1, "succeeded"), Attempt(1, "succeeded"))));
        Assert.True(Invariants.SucceededTwice(Task("succeeded", Attempt(1, "succeeded"), Attempt(2, "succeeded"))));
    }

    [Fact]
    public void NumberedInOrder_IsOneToN_EachOnce()
    {
        Assert.True(Invariants.NumberedInOrder(Task("queued")));
        Assert.True(Invariants.NumberedInOrder(Task("failed", Attempt(1, "failed"), Attempt(2, "failed"))));
        Assert.False(Invariants.NumberedInOrder(Task("failed", Attempt(1, "failed"), Attempt(1, "failed"))));
        Assert.False(Invariants.NumberedInOrder(Task("failed", Attempt(2, "failed"))));
    }

    [Fact]
    public void KeysWithTwoTasks_CountsKeysAnsweredWithTwoIds_OrCarriedByTwoStoredTasks()
    {
        var stored = new[] { new TaskSeen("a", "limited", "succeeded", "k-1", []), new TaskSeen("b", "limited", "succeeded", "k-2", []) };
        Assert.Equal(0, Invariants.KeysWithTwoTasks(stored, new Dictionary<string, IReadOnlyCollection<string>> { ["k-1"] = ["a"], ["k-2"] = ["b"] }));
        Assert.Equal(1, Invariants.KeysWithTwoTasks(stored, new Dictionary<string, IReadOnlyCollection<string>> { ["k-1"] = ["a", "c"] }));
        Assert.Equal(1, Invariants.KeysWithTwoTasks([.. stored, new TaskSeen("c", "limited", "queued", "k-2", [])], new Dictionary<string, IReadOnlyCollection<string>>()));
    }

    [Fact]
    public void Check_FlagsStuckAndLostTasks_AndLeftContainers_AsViolations()
    {
        var tasks = new[] { new TaskSeen("a", "limited", "running", "k-1", [Attempt(1, "running", end: null)]) };
        var answered = new Dictionary<string, IReadOnlyCollection<string>> { ["k-1"] = ["a"], ["k-2"] = ["b"] };

        var figures = Invariants.Check(tasks, s_jobs, answered, containersLeft: 1, At(5)).ToDictionary(f => f.Name);

        Assert.True(figures["tasks.stuck"] is { Value: 1, Violated: true });
        Assert.True(figures["tasks.lost"] is { Value: 1, Violated: true });
        Assert.True(figures["containers_left"] is { Value: 1, Violated: true });
        Assert.True(figures["succeeded_twice"] is { Value: 0, Violated: false });
        Assert.Equal(1, figures["max_concurrency.limited.observed"].Value);
    }
}

using Stevedore.Grains;

namespace Stevedore.UnitTests;

public class TaskTimesTests
{
    private static readonly DateTimeOffset s_created = new(2026, 2, 3, 4, 5, 6, TimeSpan.Zero);

    private static AttemptRecord Attempt(int number, double startedAfter, double? endedAfter) => new()
    {
        Number = number, StartedAt = s_created.AddSeconds(startedAfter),
        FinishedAt = endedAfter is { } e ? s_created.AddSeconds(e) : null, Status = TaskRunStatus.Failed,
    };

    [Theory]
    // runAfter (s after creation), last attempt ended (s after creation), ready since (s after creation)
    [InlineData(null, null, 0)]          // queued now: ready since created
    [InlineData(30.0, null, 30)]         // delayed: ready since due
    [InlineData(40.0, 10.0, 40)]         // retry with back-off: ready when the back-off ends
    [InlineData(null, 10.0, 10)]         // lost attempt, queued again at once: ready since it ended
    [InlineData(5.0, 10.0, 10)]          // due before the attempt ended: the end counts
    public void ReadySince_IsTheLatestOfCreatedDueAndLastAttemptEnd(double? runAfter, double? lastEnded, double expected)
    {
        var task = new TaskRecord
        {
            Id = TaskIds.New(s_created), Job = "j", CreatedAt = s_created,
            RunAfter = runAfter is { } r ? s_created.AddSeconds(r) : null,
            Attempts = lastEnded is { } e ? [Attempt(1, 1, e)] : [],
        };

        Assert.Equal(s_created.AddSeconds(expected), TaskTimes.ReadySince(task));
    }

    [Fact]
    public void EndedAttempt_FindsOnlyAnAttemptThatHasEnded()
    {
        var task = new TaskRecord { Id = "x", Job = "j", Attempts = [Attempt(1, 1, 5), Attempt(2, 10, null)] };

        Assert.Equal(s_created.AddSeconds(5), TaskTimes.EndedAttempt(task, 1)!.FinishedAt);
        Assert.Null(TaskTimes.EndedAttempt(task, 2));
        Assert.Null(TaskTimes.EndedAttempt(task, 3));
    }
}

using Stevedore.Grains.Retention;

namespace Stevedore.UnitTests;

public class RetentionPolicyTests
{
    private static readonly DateTimeOffset s_now = new(2026, 6, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan s_week = TimeSpan.FromDays(7);

    private static JobInfo Job(string name, int? days) => new() { Name = name, Spec = new JobSpec { Image = "x", RetentionDays = days } };

    private static TaskRecord Task(string job, TaskRunStatus status, double finishedDaysAgo) => new()
    {
        Id = TaskIds.New(s_now), Job = job, Status = status, CreatedAt = s_now.AddDays(-30),
        FinishedAt = status.IsTerminal() ? s_now.AddDays(-finishedDaysAgo) : null,
    };

    [Theory]
    // job, its retentionDays, status, finished days ago, expired?
    [InlineData("plain", null, TaskRunStatus.Succeeded, 8, true)]
    [InlineData("plain", null, TaskRunStatus.Succeeded, 6.9, false)]
    [InlineData("plain", null, TaskRunStatus.Failed, 7.01, true)]
    [InlineData("plain", null, TaskRunStatus.TimedOut, 30, true)]
    [InlineData("plain", null, TaskRunStatus.Cancelled, 30, true)]
    [InlineData("plain", null, TaskRunStatus.Queued, 30, false)]
    [InlineData("plain", null, TaskRunStatus.Running, 30, false)]
    [InlineData("short", 1, TaskRunStatus.Succeeded, 1.5, true)]
    [InlineData("short", 1, TaskRunStatus.Succeeded, 0.5, false)]
    [InlineData("long", 30, TaskRunStatus.Succeeded, 8, false)]
    [InlineData("long", 30, TaskRunStatus.Succeeded, 31, true)]
    [InlineData("deleted", null, TaskRunStatus.Succeeded, 8, true)] // a job no longer in the catalogue follows the default
    [InlineData("deleted", null, TaskRunStatus.Succeeded, 6, false)]
    public void Cutoffs_ApplyTheJobsOwnRetention_ElseTheDefault(string job, int? days, TaskRunStatus status, double finishedDaysAgo, bool expired)
    {
        var jobs = job == "deleted" ? [Job("other", 1)] : new[] { Job(job, days), Job("other", 1) };

        var cutoffs = RetentionPolicy.Cutoffs(jobs, s_week, s_now);

        Assert.Equal(expired, RetentionPolicy.IsExpired(Task(job, status, finishedDaysAgo), cutoffs));
    }

    [Fact]
    public void Cutoffs_ListOnlyJobsWithTheirOwnRetention()
    {
        var cutoffs = RetentionPolicy.Cutoffs([Job("a", null), Job("b", 2)], s_week, s_now);

        Assert.Equal(s_now - s_week, cutoffs.Default);
        Assert.Equal(new Dictionary<string, DateTimeOffset> { ["b"] = s_now.AddDays(-2) }, cutoffs.PerJob);
    }
}

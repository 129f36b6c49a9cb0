using Stevedore.Storage;

namespace Stevedore.Grains.Retention;

/// <summary>
/// Which finished tasks have outlived their retention: pure, so its cases are tested directly. A job's own
/// <c>retentionDays</c> wins over the default; tasks of jobs that no longer exist follow the default.
/// </summary>
public static class RetentionPolicy
{
    public static RetentionCutoffs Cutoffs(IEnumerable<JobInfo> jobs, TimeSpan defaultRetention, DateTimeOffset now)
    {
        var perJob = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        foreach (var job in jobs)
        {
            if (job.Spec.RetentionDays is { } days)
            {
                perJob[job.Name] = now - TimeSpan.FromDays(days);
            }
        }

        return new RetentionCutoffs(now - defaultRetention, perJob);
    }

    /// <summary>True when a task is finished and older than its cutoff.</summary>
    public static bool IsExpired(TaskRecord task, RetentionCutoffs cutoffs) =>
        task.Status.IsTerminal() && task.FinishedAt is { } finished && finished < cutoffs.For(task.Job);
}

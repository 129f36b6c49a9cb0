namespace Stevedore.Storage;

/// <summary>The catalogue of job definitions. Written only by job grains; read by anyone.</summary>
public interface IJobStore
{
    Task<JobInfo?> GetAsync(string name, CancellationToken cancellationToken = default);
    Task UpsertAsync(JobInfo job, CancellationToken cancellationToken = default);
    Task<bool> DeleteAsync(string name, CancellationToken cancellationToken = default);
    Task<IReadOnlyList<JobInfo>> ListAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Names of the jobs whose definition subscribes to <paramref name="topic"/>. Indexed with the job's own row (one
    /// write), so it is never out of step with the definitions and never scans every job.
    /// </summary>
    Task<IReadOnlyList<string>> ListSubscribersAsync(string topic, CancellationToken cancellationToken = default);
}

namespace Stevedore.Storage;

/// <summary>The catalogue of job definitions. Written only by job grains; read by anyone.</summary>
public interface IJobStore
{
    Task<JobInfo?> GetAsync(string name, CancellationToken cancellationToken = default);
    Task UpsertAsync(JobInfo job, CancellationToken cancellationToken = default);
    Task<bool> DeleteAsync(string name, CancellationToken cancellationToken = default);
    Task<IReadOnlyList<JobInfo>> ListAsync(CancellationToken cancellationToken = default);
}

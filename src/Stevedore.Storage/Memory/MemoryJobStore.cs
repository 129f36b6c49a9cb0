using System.Collections.Concurrent;

namespace Stevedore.Storage.Memory;

public sealed class MemoryJobStore : IJobStore
{
    private readonly ConcurrentDictionary<string, JobInfo> _jobs = new(StringComparer.Ordinal);

    public Task<JobInfo?> GetAsync(string name, CancellationToken cancellationToken = default) =>
        Task.FromResult(_jobs.TryGetValue(name, out var job) ? job : null);

    public Task UpsertAsync(JobInfo job, CancellationToken cancellationToken = default)
    {
        _jobs[job.Name] = job;
        return Task.CompletedTask;
    }

    public Task<bool> DeleteAsync(string name, CancellationToken cancellationToken = default) =>
        Task.FromResult(_jobs.TryRemove(name, out _));

    public Task<IReadOnlyList<JobInfo>> ListAsync(CancellationToken cancellationToken = default) =>
        Task.FromResult<IReadOnlyList<JobInfo>>(_jobs.Values.OrderBy(j => j.Name, StringComparer.Ordinal).ToList());
}

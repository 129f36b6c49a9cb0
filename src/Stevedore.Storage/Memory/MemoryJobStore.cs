namespace Stevedore.Storage.Memory;

public sealed class MemoryJobStore : IJobStore
{
    private readonly Dictionary<string, JobInfo> _jobs = new(StringComparer.Ordinal);
    // Topic → subscribed jobs, changed under the same lock as the jobs themselves.
    private readonly Dictionary<string, SortedSet<string>> _topics = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    public Task<JobInfo?> GetAsync(string name, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            return Task.FromResult(_jobs.GetValueOrDefault(name));
        }
    }

    public Task UpsertAsync(JobInfo job, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            Unsubscribe(job.Name);
            _jobs[job.Name] = job;
            foreach (var topic in job.Spec.Subscriptions)
            {
                if (!_topics.TryGetValue(topic, out var jobs))
                {
                    _topics[topic] = jobs = new SortedSet<string>(StringComparer.Ordinal);
                }

                jobs.Add(job.Name);
            }
        }

        return Task.CompletedTask;
    }

    public Task<bool> DeleteAsync(string name, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            Unsubscribe(name);
            return Task.FromResult(_jobs.Remove(name));
        }
    }

    public Task<IReadOnlyList<JobInfo>> ListAsync(CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            return Task.FromResult<IReadOnlyList<JobInfo>>(_jobs.Values.OrderBy(j => j.Name, StringComparer.Ordinal).ToList());
        }
    }

    public Task<IReadOnlyList<string>> ListSubscribersAsync(string topic, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            return Task.FromResult<IReadOnlyList<string>>(_topics.TryGetValue(topic, out var jobs) ? [.. jobs] : []);
        }
    }

    private void Unsubscribe(string name)
    {
        if (!_jobs.TryGetValue(name, out var old))
        {
            return;
        }

        foreach (var topic in old.Spec.Subscriptions)
        {
            if (_topics.TryGetValue(topic, out var jobs) && jobs.Remove(name) && jobs.Count == 0)
            {
                _topics.Remove(topic);
            }
        }
    }
}

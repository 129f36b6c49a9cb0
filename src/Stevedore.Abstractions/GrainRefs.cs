using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace Stevedore;

/// <summary>
/// Cached references to the few long-lived grains every task touches (queue partitions, jobs). Orleans resolves the
/// interface type on each <c>GetGrain</c> call by reading the interface's attributes, which shows up in profiles at
/// thousands of tasks per second. References belong to the runtime that made them, so the cache is kept per grain
/// factory.
/// </summary>
public static class GrainRefs
{
    private static readonly ConditionalWeakTable<IGrainFactory, Cache> s_caches = [];

    public static IQueuePartitionGrain Partition(this IGrainFactory grains, int partition) =>
        s_caches.GetValue(grains, static _ => new Cache()).Partitions.GetOrAdd(partition, static (p, g) => g.GetGrain<IQueuePartitionGrain>(p), grains);

    public static IJobGrain Job(this IGrainFactory grains, string job)
    {
        var jobs = s_caches.GetValue(grains, static _ => new Cache()).Jobs;
        if (jobs.Count > 10_000)
        {
            jobs.Clear(); // jobs come and go; the cache only has to hold the busy ones
        }

        return jobs.GetOrAdd(job, static (j, g) => g.GetGrain<IJobGrain>(j), grains);
    }

    private sealed class Cache
    {
        public ConcurrentDictionary<int, IQueuePartitionGrain> Partitions { get; } = new();
        public ConcurrentDictionary<string, IJobGrain> Jobs { get; } = new(StringComparer.Ordinal);
    }
}

namespace Stevedore.Options;

/// <summary>How the task queue is cut into partition grains. Configuration section <c>Stevedore:Queue</c>.</summary>
/// <remarks>
/// Every silo of a cluster must use the same partition count: a task's partition is derived from its id.
/// More partitions spread dispatch over more grains (and silos); a handful per silo is plenty.
/// </remarks>
public sealed class QueueOptions
{
    public const string Section = "Stevedore:Queue";
    public const int DefaultPartitions = 8;

    public int Partitions { get; set; } = DefaultPartitions;

    /// <summary>Largest accepted payload in bytes (1 MiB by default); larger payloads get 413.</summary>
    public int MaxPayloadBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// Largest request body of a batch enqueue in bytes (32 MiB by default); larger batches get 413 as soon as that
    /// many bytes arrived. Also Kestrel's request body limit when it is the largest.
    /// </summary>
    public long MaxBatchBytes { get; set; } = 32L * 1024 * 1024;

    /// <summary>
    /// How long a running task's lease lasts without renewal. Workers renew every third of it; when a worker node or
    /// its silo dies, its tasks run again elsewhere (error "worker lost") once their lease lapses.
    /// </summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(6);

    /// <summary>
    /// How long a run slot of a job with <c>maxConcurrency</c> may stay unused: a slot kept for a better task of another
    /// partition is offered again after a fifth of it, and a slot whose task is not running is given back after twice
    /// it (its release was lost with a silo). The name dates from when a leased task's start was confirmed separately.
    /// </summary>
    public TimeSpan LeaseConfirmTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How often a partition looks in the task store for queued tasks that never reached it (a call to it failed
    /// after the task was stored, or its caller died in between); such a task starts at most about twice this late.
    /// Each queued task is read once by this, whatever the length of the queue.
    /// </summary>
    public TimeSpan ReconcileInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long an idempotency key maps to its task.</summary>
    public TimeSpan IdempotencyWindow { get; set; } = TimeSpan.FromHours(24);
}

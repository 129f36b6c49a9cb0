using Orleans.Concurrency;

namespace Stevedore;

/// <summary>What a user sets on a job; validated before it reaches a grain.</summary>
[GenerateSerializer, Immutable, Alias("stevedore.JobSpec")]
public sealed record JobSpec
{
    public const int DefaultTimeoutSeconds = 3600;
    public const int DefaultMemoryMb = 256;
    public const double DefaultCpus = 1;
    public const int DefaultRetryDelaySeconds = 10;
    public const double DefaultRetryBackoff = 2;

    [Id(0)] public required string Image { get; init; }
    [Id(1)] public IReadOnlyList<string>? Command { get; init; }
    [Id(2)] public IReadOnlyDictionary<string, string> Env { get; init; } = new Dictionary<string, string>();
    [Id(3)] public int TimeoutSeconds { get; init; } = DefaultTimeoutSeconds;
    [Id(4)] public int MemoryMb { get; init; } = DefaultMemoryMb;
    [Id(5)] public double Cpus { get; init; } = DefaultCpus;
    [Id(6)] public int MaxConcurrency { get; init; }
    [Id(7)] public int Retries { get; init; }
    [Id(8)] public int RetryDelaySeconds { get; init; } = DefaultRetryDelaySeconds;
    [Id(9)] public double RetryBackoff { get; init; } = DefaultRetryBackoff;
    [Id(10)] public string Network { get; init; } = "bridge";
    [Id(11)] public int Priority { get; init; }
    // Ids 13–19 and 22–29 are left to fields being added beside these at the same time; never renumber.
    /// <summary>Days a finished task of this job is kept; null means <c>Stevedore:Retention:FinishedTasks</c>.</summary>
    [Id(12)] public int? RetentionDays { get; init; }

    /// <summary>When set, the job's tasks are served by long-lived hot containers (docs/hot-containers.md); null: a container per task.</summary>
    [Id(13)] public HotSpec? Hot { get; init; }
    /// <summary>Event topics this job takes: each event published to one of them makes a task of this job.</summary>
    [Id(20)] public IReadOnlyList<string> Subscriptions { get; init; } = [];

    /// <summary>How many of the job's tasks may be queued at once; an enqueue beyond it is refused. 0: unlimited.</summary>
    [Id(21)] public int MaxQueued { get; init; }

    // Ids 30 and up: the container's hardening (ids in between are left to fields added beside it meanwhile).

    /// <summary>Linux capabilities the container keeps (names without <c>CAP_</c>, from an allow-list); all others are dropped.</summary>
    [Id(30)] public IReadOnlyList<string> Capabilities { get; init; } = [];

    /// <summary>The user the job runs as (<c>uid</c>, <c>uid:gid</c> or a name the image knows); null: the image's own.</summary>
    [Id(31)] public string? User { get; init; }

    /// <summary>The container's root filesystem is read-only; /tmp is a small writable tmpfs.</summary>
    [Id(32)] public bool ReadOnlyRootFilesystem { get; init; }

    /// <summary>True when both specs would run a task the same way.</summary>
    public bool SameAs(JobSpec other) =>
        Image == other.Image
        && (Command ?? []).SequenceEqual(other.Command ?? [])
        && Command is null == other.Command is null
        && Env.Count == other.Env.Count && Env.All(kv => other.Env.TryGetValue(kv.Key, out var v) && v == kv.Value)
        && TimeoutSeconds == other.TimeoutSeconds && MemoryMb == other.MemoryMb && Cpus == other.Cpus
        && MaxConcurrency == other.MaxConcurrency && Retries == other.Retries
        && RetryDelaySeconds == other.RetryDelaySeconds && RetryBackoff == other.RetryBackoff
        && Network == other.Network && Priority == other.Priority
        && RetentionDays == other.RetentionDays
        && Subscriptions.SequenceEqual(other.Subscriptions)
        && MaxQueued == other.MaxQueued
        && Capabilities.SequenceEqual(other.Capabilities) && User == other.User && ReadOnlyRootFilesystem == other.ReadOnlyRootFilesystem
        && Hot == other.Hot;
}

/// <summary>
/// A hot job: a container started once per job version and node serves many tasks, one at a time, through the hot
/// runtime protocol on its standard input and output.
/// </summary>
[GenerateSerializer, Immutable, Alias("stevedore.HotSpec")]
public sealed record HotSpec
{
    public const int DefaultMaxPerNode = 1;
    public const int DefaultIdleSeconds = 60;

    /// <summary>Most hot containers of this job on one worker node at once (each serving one task at a time).</summary>
    [Id(0)] public int MaxPerNode { get; init; } = DefaultMaxPerNode;

    /// <summary>A hot container that served no task for this long is retired.</summary>
    [Id(1)] public int IdleSeconds { get; init; } = DefaultIdleSeconds;
}

/// <summary>A job definition as stored: its spec plus identity, version and switches.</summary>
[GenerateSerializer, Immutable, Alias("stevedore.JobInfo")]
public sealed record JobInfo
{
    [Id(0)] public required string Name { get; init; }
    [Id(1)] public required JobSpec Spec { get; init; }
    [Id(2)] public long Version { get; init; }
    [Id(3)] public DateTimeOffset CreatedAt { get; init; }
    [Id(4)] public DateTimeOffset UpdatedAt { get; init; }
    [Id(5)] public bool Paused { get; init; }
}

[GenerateSerializer, Immutable, Alias("stevedore.PutJobResult")]
public sealed record PutJobResult([property: Id(0)] JobInfo Job, [property: Id(1)] bool Created);

/// <summary>Answer of a job grain when a queue partition asks to start one of its tasks.</summary>
[GenerateSerializer, Immutable, Alias("stevedore.AcquireResult")]
public sealed record AcquireResult([property: Id(0)] AcquireOutcome Outcome, [property: Id(1)] JobInfo? Job)
{
    /// <summary>
    /// The job has no limit and is not paused: the partition may start its tasks without asking, until the job grain
    /// revokes the pass (any change to the job, a pause, a new activation).
    /// </summary>
    [Id(2)] public bool Pass { get; init; }
}

public enum AcquireOutcome
{
    /// <summary>The task may start now with the returned job definition.</summary>
    Acquired,
    /// <summary>The job is paused: keep the task queued.</summary>
    Paused,
    /// <summary>The job runs <c>maxConcurrency</c> tasks already: keep the task queued.</summary>
    AtLimit,
    /// <summary>The job no longer exists: the task cannot run.</summary>
    Missing,
}

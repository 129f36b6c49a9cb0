using System.Text.Json;
using System.Text.Json.Serialization;
using Stevedore.Application;
using Stevedore.Options;

namespace Stevedore.Host.Apis;

public static class ApiJson
{
    public static void Configure(JsonSerializerOptions options)
    {
        options.PropertyNamingPolicy = JsonNamingPolicy.CamelCase;
        options.DefaultIgnoreCondition = JsonIgnoreCondition.Never;
    }
}

/// <summary>Request body limits per endpoint (413 beyond); Kestrel's own limit is the largest of them.</summary>
public static class ApiLimits
{
    /// <summary>A job definition or one task: a payload at the limit, JSON-escaped (up to 6 bytes a byte), and the other fields.</summary>
    public static JsonLimits Single(QueueOptions options) => new(SingleBytes(options));

    /// <summary>
    /// A batch: at most <see cref="QueueOptions.MaxBatchBytes"/> and 1000 items of a single task's size each; items are
    /// counted and measured while the body arrives.
    /// </summary>
    public static JsonLimits Batch(QueueOptions options) => new(BatchBytes(options))
    {
        ItemsProperty = "tasks",
        MaxItems = Validation.MaxBatch,
        MaxItemBytes = SingleBytes(options),
    };

    /// <summary>The largest body any endpoint takes: Kestrel's global limit.</summary>
    public static long Largest(QueueOptions options) => Math.Max(SingleBytes(options), BatchBytes(options));

    private static long SingleBytes(QueueOptions options) => (options.MaxPayloadBytes * 6L) + (64 * 1024);

    private static long BatchBytes(QueueOptions options) => Math.Min(options.MaxBatchBytes, Validation.MaxBatch * SingleBytes(options));
}

public sealed record JobResponse(
    string Name,
    string Image,
    IReadOnlyList<string>? Command,
    IReadOnlyDictionary<string, string> Env,
    int TimeoutSeconds,
    int MemoryMb,
    double Cpus,
    int MaxConcurrency,
    int Retries,
    int RetryDelaySeconds,
    double RetryBackoff,
    string Network,
    int Priority,
    int? RetentionDays,
    IReadOnlyList<string> Subscriptions,
    int MaxQueued,
    bool Paused,
    long Version,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt)
{
    public IReadOnlyList<string> Capabilities { get; init; } = [];
    public string? User { get; init; }
    public bool ReadOnlyRootFilesystem { get; init; }
    /// <summary>Hot containers; null for a cold job.</summary>
    public HotResponse? Hot { get; init; }

    public static JobResponse From(JobInfo job) => new(
        job.Name, job.Spec.Image, job.Spec.Command, job.Spec.Env, job.Spec.TimeoutSeconds, job.Spec.MemoryMb, job.Spec.Cpus,
        job.Spec.MaxConcurrency, job.Spec.Retries, job.Spec.RetryDelaySeconds, job.Spec.RetryBackoff, job.Spec.Network,
        job.Spec.Priority, job.Spec.RetentionDays, job.Spec.Subscriptions, job.Spec.MaxQueued, job.Paused, job.Version, job.CreatedAt, job.UpdatedAt)
    {
        Capabilities = job.Spec.Capabilities,
        User = job.Spec.User,
        ReadOnlyRootFilesystem = job.Spec.ReadOnlyRootFilesystem,
        Hot = job.Spec.Hot is { } hot ? new HotResponse(hot.MaxPerNode, hot.IdleSeconds) : null,
    };
}

/// <summary>A job's <c>hot</c> settings.</summary>
public sealed record HotResponse(int MaxPerNode, int IdleSeconds);

public sealed record AttemptResponse(int Number, string? Node, DateTimeOffset StartedAt, DateTimeOffset? FinishedAt, TaskRunStatus Status, long? ExitCode, string? Error);

public sealed record TaskResponse(
    string Id,
    string Job,
    long JobVersion,
    TaskRunStatus Status,
    int Priority,
    int Attempt,
    int MaxAttempts,
    long? ExitCode,
    string? Error,
    DateTimeOffset CreatedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    DateTimeOffset? RunAfter,
    IReadOnlyDictionary<string, string> Labels,
    string? Node,
    string? RetryOf,
    int? TimeoutSeconds,
    bool CancelRequested,
    IReadOnlyList<AttemptResponse> Attempts)
{
    /// <summary>A synchronous invoke's result, inline when it is UTF-8 text of at most 64 KiB; left out otherwise.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Result { get; init; }

    public static TaskResponse From(TaskRecord t) => new(
        t.Id, t.Job, t.JobVersion, t.Status, t.Priority, t.Attempt, t.MaxAttempts, t.ExitCode, t.Error, t.CreatedAt,
        t.StartedAt, t.FinishedAt, t.RunAfter, t.Labels, t.Node, t.RetryOf, t.TimeoutSeconds, t.CancelRequested,
        t.Attempts.Select(a => new AttemptResponse(a.Number, a.Node, a.StartedAt, a.FinishedAt, a.Status, a.ExitCode, a.Error)).ToList());
}

public sealed record TaskListResponse(IReadOnlyList<TaskResponse> Items, string? NextCursor);

public sealed record BatchResponse(IReadOnlyList<string> Ids);

public sealed record RedriveResponse(int Queued, int AlreadyRedriven, bool More);

public sealed record StatsResponse(string Job, IReadOnlyDictionary<string, long> Counts, int RunningNow, long QueuedNow);

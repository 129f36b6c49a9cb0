using System.Text.Json;
using System.Text.Json.Serialization;

namespace Stevedore.Host.Apis;

public static class ApiJson
{
    public static void Configure(JsonSerializerOptions options)
    {
        options.PropertyNamingPolicy = JsonNamingPolicy.CamelCase;
        options.DefaultIgnoreCondition = JsonIgnoreCondition.Never;
    }
}

public static class ApiLimits
{
    /// <summary>Largest request body of a batch enqueue (1000 tasks).</summary>
    public const long MaxBatchBodyBytes = 256L * 1024 * 1024;

    /// <summary>Largest body of any other call: a payload at the limit, JSON-escaped, fits.</summary>
    public static long MaxBodyBytes(int maxPayloadBytes) => (maxPayloadBytes * 6L) + (64 * 1024);
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
    bool Paused,
    long Version,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt)
{
    public IReadOnlyList<string> Capabilities { get; init; } = [];
    public string? User { get; init; }
    public bool ReadOnlyRootFilesystem { get; init; }

    public static JobResponse From(JobInfo job) => new(
        job.Name, job.Spec.Image, job.Spec.Command, job.Spec.Env, job.Spec.TimeoutSeconds, job.Spec.MemoryMb, job.Spec.Cpus,
        job.Spec.MaxConcurrency, job.Spec.Retries, job.Spec.RetryDelaySeconds, job.Spec.RetryBackoff, job.Spec.Network,
        job.Spec.Priority, job.Spec.RetentionDays, job.Spec.Subscriptions, job.Paused, job.Version, job.CreatedAt, job.UpdatedAt)
    {
        Capabilities = job.Spec.Capabilities,
        User = job.Spec.User,
        ReadOnlyRootFilesystem = job.Spec.ReadOnlyRootFilesystem,
    };
}

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

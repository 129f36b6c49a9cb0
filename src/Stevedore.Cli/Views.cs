using System.Text.Json;
using System.Text.Json.Serialization;
using Stevedore.Api.V1;

namespace Stevedore.Cli;

/// <summary>What <c>-o json</c> prints: the same shapes as the HTTP API, so scripts can use either.</summary>
public static class Views
{
    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static string Status(TaskState state) => state switch
    {
        TaskState.Queued => "queued",
        TaskState.Running => "running",
        TaskState.Succeeded => "succeeded",
        TaskState.Failed => "failed",
        TaskState.TimedOut => "timed_out",
        TaskState.Cancelled => "cancelled",
        _ => "unknown",
    };

    public static TaskState? ParseStatus(string text) =>
        Enum.GetValues<TaskState>().Where(s => s != TaskState.Unspecified && Status(s) == text).Select(s => (TaskState?)s).FirstOrDefault();

    public static object Job(Job job) => new JobView(
        job.Name, job.Spec.Image, job.Spec.Command.Count == 0 ? null : job.Spec.Command, job.Spec.Env, job.Spec.TimeoutSeconds,
        job.Spec.MemoryMb, job.Spec.Cpus, job.Spec.MaxConcurrency, job.Spec.Retries, job.Spec.RetryDelaySeconds,
        job.Spec.RetryBackoff, job.Spec.Network, job.Spec.Priority, job.Spec.Subscriptions, job.Spec.MaxQueued,
        job.Spec.Capabilities, job.Spec.HasUser ? job.Spec.User : null, job.Spec.ReadOnlyRootFilesystem,
        job.Spec.HasRetentionDays ? job.Spec.RetentionDays : null, job.Paused, job.Version,
        job.CreatedAt.ToDateTimeOffset(), job.UpdatedAt.ToDateTimeOffset())
    { Hot = job.Spec.Hot is { } hot ? new HotView(hot.MaxPerNode, hot.IdleSeconds) : null };

    public static object Task(TaskInfo t, string? result = null) => new TaskView(
        t.Id, t.Job, t.JobVersion, Status(t.Status), t.Priority, t.Attempt, t.MaxAttempts, t.HasExitCode ? t.ExitCode : null,
        t.HasError ? t.Error : null, t.CreatedAt?.ToDateTimeOffset(), t.StartedAt?.ToDateTimeOffset(), t.FinishedAt?.ToDateTimeOffset(),
        t.RunAfter?.ToDateTimeOffset(), t.Labels, t.HasNode ? t.Node : null, t.HasRetryOf ? t.RetryOf : null,
        t.HasTimeoutSeconds ? t.TimeoutSeconds : null, t.CancelRequested,
        t.Attempts.Select(a => new AttemptView(a.Number, a.HasNode ? a.Node : null, a.StartedAt?.ToDateTimeOffset(), a.FinishedAt?.ToDateTimeOffset(),
            Status(a.Status), a.HasExitCode ? a.ExitCode : null, a.HasError ? a.Error : null)).ToList())
    { Result = result };

    public static object Stats(JobStats s) => new StatsView(s.Job, s.Counts, s.RunningNow, s.QueuedNow);

    public sealed record JobView(
        string Name, string Image, IReadOnlyList<string>? Command, IDictionary<string, string> Env, long TimeoutSeconds, long MemoryMb,
        double Cpus, long MaxConcurrency, long Retries, long RetryDelaySeconds, double RetryBackoff, string Network, long Priority,
        IReadOnlyList<string> Subscriptions, long MaxQueued, IReadOnlyList<string> Capabilities, string? User,
        bool ReadOnlyRootFilesystem, long? RetentionDays, bool Paused, long Version, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
    {
        public HotView? Hot { get; init; }
    }

    public sealed record HotView(long MaxPerNode, long IdleSeconds);

    public sealed record AttemptView(int Number, string? Node, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt, string Status, long? ExitCode, string? Error);

    public sealed record TaskView(
        string Id, string Job, long JobVersion, string Status, int Priority, int Attempt, int MaxAttempts, long? ExitCode, string? Error,
        DateTimeOffset? CreatedAt, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt, DateTimeOffset? RunAfter,
        IDictionary<string, string> Labels, string? Node, string? RetryOf, int? TimeoutSeconds, bool CancelRequested,
        IReadOnlyList<AttemptView> Attempts)
    {
        [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
        public string? Result { get; init; }
    }

    public sealed record StatsView(string Job, IDictionary<string, long> Counts, int RunningNow, long QueuedNow);
}

using System.Text.Json.Serialization;
using Orleans.Concurrency;

namespace Stevedore;

/// <summary>The lifecycle of a task: queued → running → succeeded | failed | timed_out | cancelled.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<TaskRunStatus>))]
public enum TaskRunStatus
{
    [JsonStringEnumMemberName("queued")] Queued,
    [JsonStringEnumMemberName("running")] Running,
    [JsonStringEnumMemberName("succeeded")] Succeeded,
    [JsonStringEnumMemberName("failed")] Failed,
    [JsonStringEnumMemberName("timed_out")] TimedOut,
    [JsonStringEnumMemberName("cancelled")] Cancelled,
}

public static class TaskRunStatusExtensions
{
    public static bool IsTerminal(this TaskRunStatus status) => status >= TaskRunStatus.Succeeded;

    public static string ToWire(this TaskRunStatus status) => status switch
    {
        TaskRunStatus.Queued => "queued",
        TaskRunStatus.Running => "running",
        TaskRunStatus.Succeeded => "succeeded",
        TaskRunStatus.Failed => "failed",
        TaskRunStatus.TimedOut => "timed_out",
        TaskRunStatus.Cancelled => "cancelled",
        _ => status.ToString(),
    };

    public static bool TryParseWire(string? text, out TaskRunStatus status)
    {
        foreach (var candidate in Enum.GetValues<TaskRunStatus>())
        {
            if (string.Equals(candidate.ToWire(), text, StringComparison.Ordinal))
            {
                status = candidate;
                return true;
            }
        }

        status = default;
        return false;
    }
}

[GenerateSerializer, Immutable, Alias("stevedore.AttemptRecord")]
public sealed record AttemptRecord
{
    [Id(0)] public int Number { get; init; }
    [Id(1)] public string? Node { get; init; }
    [Id(2)] public DateTimeOffset StartedAt { get; init; }
    [Id(3)] public DateTimeOffset? FinishedAt { get; init; }
    [Id(4)] public TaskRunStatus Status { get; init; }
    [Id(5)] public long? ExitCode { get; init; }
    [Id(6)] public string? Error { get; init; }
}

/// <summary>
/// Everything known about a task except its payload, logs and result, which live in the content store.
/// Immutable: every transition yields a new record.
/// </summary>
[GenerateSerializer, Immutable, Alias("stevedore.TaskRecord")]
public sealed record TaskRecord
{
    /// <summary>Shared by every task without labels (most of them): never mutated.</summary>
    public static readonly IReadOnlyDictionary<string, string> NoLabels = new Dictionary<string, string>();

    [Id(0)] public required string Id { get; init; }
    [Id(1)] public required string Job { get; init; }
    [Id(2)] public long JobVersion { get; init; }
    [Id(3)] public TaskRunStatus Status { get; init; }
    [Id(4)] public int Priority { get; init; }
    /// <summary>Number of the latest attempt (0 before the first start).</summary>
    [Id(5)] public int Attempt { get; init; }
    [Id(6)] public int MaxAttempts { get; init; } = 1;
    [Id(7)] public long? ExitCode { get; init; }
    [Id(8)] public string? Error { get; init; }
    [Id(9)] public DateTimeOffset CreatedAt { get; init; }
    [Id(10)] public DateTimeOffset? StartedAt { get; init; }
    [Id(11)] public DateTimeOffset? FinishedAt { get; init; }
    [Id(12)] public DateTimeOffset? RunAfter { get; init; }
    [Id(13)] public IReadOnlyDictionary<string, string> Labels { get; init; } = NoLabels;
    [Id(14)] public string? Node { get; init; }
    [Id(15)] public string? RetryOf { get; init; }
    [Id(16)] public IReadOnlyList<AttemptRecord> Attempts { get; init; } = [];
    /// <summary>Per-task timeout; null means the job's.</summary>
    [Id(17)] public int? TimeoutSeconds { get; init; }
    [Id(18)] public string? IdempotencyKey { get; init; }
    [Id(19)] public int Partition { get; init; }
    [Id(20)] public bool CancelRequested { get; init; }
    [Id(21)] public int PayloadBytes { get; init; }
    /// <summary>
    /// Variables this task's containers see besides the job's <c>env</c>, set by the trigger that made it (a webhook's
    /// <c>STEVEDORE_HOOK_*</c>); small and bounded (see <c>Validation.MaxTaskEnvironment</c>).
    /// </summary>
    [Id(22)] public IReadOnlyDictionary<string, string> Environment { get; init; } = NoLabels;
    /// <summary>Attempts lost without a word (their lease lapsed) or to a container engine that went away; past a few the task fails.</summary>
    [Id(23)] public int LapsedLeases { get; init; }
    /// <summary>W3C trace context of the enqueue (or the caller's <c>traceparent</c>): the task's runs continue it.</summary>
    [Id(24)] public string? TraceParent { get; init; }
}

/// <summary>An entry of a queue partition: just enough to order and dispatch a task.</summary>
[GenerateSerializer, Immutable, Alias("stevedore.QueueEntry")]
public readonly record struct QueueEntry(
    [property: Id(0)] string TaskId,
    [property: Id(1)] string Job,
    [property: Id(2)] int Priority,
    [property: Id(3)] DateTimeOffset? RunAfter)
{
    public static QueueEntry For(TaskRecord task) => new(task.Id, task.Job, task.Priority, task.RunAfter);
}

/// <summary>Tasks a queue partition started on a worker node, each with what the node needs to run it.</summary>
[GenerateSerializer, Immutable, Alias("stevedore.StartedBatch")]
public sealed record LeaseBatch([property: Id(0)] IReadOnlyList<RunAssignment> Tasks, [property: Id(1)] bool MoreReady)
{
    /// <summary>When <see cref="MoreReady"/>: the priority of the best task still ready in the partition.</summary>
    [Id(2)] public int NextPriority { get; init; }
}

/// <summary>What a worker needs to run an attempt: its start is recorded, and the worker must renew its lease.</summary>
[GenerateSerializer, Immutable, Alias("stevedore.RunAssignment")]
public sealed record RunAssignment
{
    [Id(0)] public required string TaskId { get; init; }
    [Id(1)] public required JobInfo Job { get; init; }
    [Id(2)] public int Attempt { get; init; }
    [Id(3)] public int TimeoutSeconds { get; init; }
    /// <summary>The task's own variables (<see cref="TaskRecord.Environment"/>).</summary>
    [Id(4)] public IReadOnlyDictionary<string, string> Environment { get; init; } = TaskRecord.NoLabels;
    /// <summary>The task's <see cref="TaskRecord.TraceParent"/>: the run continues its trace.</summary>
    [Id(5)] public string? TraceParent { get; init; }
    /// <summary>The task's queue partition: the grain the attempt's outcome is reported to.</summary>
    [Id(6)] public int Partition { get; init; }
    /// <summary>The size of the task's payload (<see cref="TaskRecord.PayloadBytes"/>): none to read when 0.</summary>
    [Id(7)] public int PayloadBytes { get; init; }
}

/// <summary>How an attempt ended, as the worker saw it.</summary>
[GenerateSerializer, Immutable, Alias("stevedore.RunOutcome")]
public sealed record RunOutcome
{
    [Id(0)] public TaskRunStatus Status { get; init; }
    [Id(1)] public long? ExitCode { get; init; }
    [Id(2)] public string? Error { get; init; }
    /// <summary>The worker could not see the attempt through (it shut down or died): run it again, not counted as a retry.</summary>
    [Id(3)] public bool WorkerLost { get; init; }
    /// <summary>
    /// Lost without a word: the worker stopped renewing the attempt's lease (its silo died). Unlike a worker that shut
    /// down or a container engine that went away, this may be the task's own doing, so it counts toward a limit.
    /// </summary>
    [Id(4)] public bool LeaseLapsed { get; init; }
    /// <summary>
    /// The worker's container engine went away during the attempt (refused, or dropped the connection): the container
    /// could not be seen through. Like a lapsed lease it counts toward the limit of lost attempts (a job may be what
    /// brings the engine down), and like any lost attempt it uses up no retry.
    /// </summary>
    [Id(5)] public bool EngineLost { get; init; }
}

public enum CancelOutcome
{
    Cancelled,
    CancelRequested,
    AlreadyFinished,
    NotFound,
}

[GenerateSerializer, Immutable, Alias("stevedore.CancelResult")]
public sealed record CancelResult([property: Id(0)] CancelOutcome Outcome, [property: Id(1)] TaskRecord? Task);

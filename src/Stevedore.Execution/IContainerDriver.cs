using System.Globalization;
using Stevedore.Storage;

namespace Stevedore.Execution;

/// <summary>
/// Runs one attempt of a task as a container and reports how it ended. Implementations must honour
/// <paramref name="cancellationToken"/> (kill the container, report <see cref="TaskRunStatus.Cancelled"/>) and the
/// request's timeout (kill, report <see cref="TaskRunStatus.TimedOut"/>), and leave no container behind.
/// A driver that keeps containers warm across tasks fits behind the same call.
/// </summary>
public interface IContainerDriver
{
    Task<ContainerExit> RunAsync(ContainerRunRequest request, ITaskLogWriter log, CancellationToken cancellationToken);

    /// <summary>
    /// Kills and removes every container carrying <paramref name="label"/>=<paramref name="value"/> (a task's or a
    /// node's); returns how many there were. For a node, also removes what its attempts left on the host.
    /// </summary>
    Task<int> RemoveLabelledAsync(string label, string value, CancellationToken cancellationToken);

    /// <summary>
    /// Kills and removes every container of <paramref name="node"/> but those of <paramref name="keepTasks"/> (attempts
    /// running now): what attempts left while the engine was away. Returns how many were removed.
    /// </summary>
    Task<int> RemoveLeftoversAsync(string node, IReadOnlySet<string> keepTasks, CancellationToken cancellationToken);

    /// <summary>Null when the container engine answers; otherwise what is wrong, for a person.</summary>
    Task<string?> CheckHealthAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Job <paramref name="job"/> changed to <paramref name="version"/> (null: it was deleted): a driver that keeps
    /// containers ready for a job version lets those of the others go.
    /// </summary>
    void JobChanged(string job, long? version)
    {
    }
}

/// <summary>Where a running container's output goes. Thread-safe; the writer applies the per-attempt cap.</summary>
public interface ITaskLogWriter
{
    void Write(LogStream stream, ReadOnlySpan<byte> data);
}

public sealed record ContainerRunRequest
{
    public required string TaskId { get; init; }
    public required string Job { get; init; }
    public required long JobVersion { get; init; }
    public required int Attempt { get; init; }
    public required JobSpec Spec { get; init; }
    public required TimeSpan Timeout { get; init; }
    /// <summary>The worker node running it; containers carry it as a label so a restarted node can find its orphans.</summary>
    public string Node { get; init; } = "";
    public ReadOnlyMemory<byte> Payload { get; init; }
    /// <summary>The W3C trace context the container continues, passed as <c>TRACEPARENT</c>.</summary>
    public string? TraceParent { get; init; }
    /// <summary>The task's own variables, set by its trigger (a webhook's <c>STEVEDORE_HOOK_*</c>).</summary>
    public IReadOnlyDictionary<string, string> TaskEnvironment { get; init; } = TaskRecord.NoLabels;

    /// <summary>The task folder: the payload file, and room for the result file.</summary>
    public const string FolderPath = "/stevedore";
    public const string PayloadPath = "/stevedore/payload";
    public const string ResultPath = "/stevedore/result";
    public const string TaskLabel = "stevedore.task";
    public const string NodeLabel = "stevedore.node";

    /// <summary>
    /// The environment every job container sees (SPEC "What a job container sees"): what every task of the job version
    /// shares, then what only this task knows. A task's variables never share a name with the version's (they are its
    /// trigger's <c>STEVEDORE_HOOK_*</c> and its own id, attempt and trace context).
    /// </summary>
    public IReadOnlyList<string> Environment() =>
        [.. VersionEnvironment(), .. TaskVariables().Select(kv => $"{kv.Key}={kv.Value}")];

    /// <summary>The variables every task of the job version sees: the job's own and Stevedore's for the version.</summary>
    public IReadOnlyList<string> VersionEnvironment() =>
    [
        .. Spec.Env.Select(kv => $"{kv.Key}={kv.Value}"),
        $"STEVEDORE_JOB={Job}",
        $"STEVEDORE_JOB_VERSION={JobVersion.ToString(CultureInfo.InvariantCulture)}",
        $"STEVEDORE_PAYLOAD_FILE={PayloadPath}",
        $"STEVEDORE_RESULT_FILE={ResultPath}",
    ];

    /// <summary>The variables only this task knows: its trigger's, its id and attempt, and the trace it continues.</summary>
    public IEnumerable<KeyValuePair<string, string?>> TaskVariables()
    {
        foreach (var (name, value) in TaskEnvironment)
        {
            yield return new(name, value);
        }

        yield return new("STEVEDORE_TASK_ID", TaskId);
        yield return new("STEVEDORE_ATTEMPT", Attempt.ToString(CultureInfo.InvariantCulture));
        if (TraceParent is { } traceParent)
        {
            yield return new("TRACEPARENT", traceParent);
        }
    }
}

public sealed record ContainerExit
{
    public required TaskRunStatus Status { get; init; }
    public long? ExitCode { get; init; }
    public string? Error { get; init; }
    /// <summary>What the job wrote to its result file, if anything.</summary>
    public ReadOnlyMemory<byte>? Result { get; init; }

    /// <summary>
    /// Removes what the attempt left on the engine (its container and task folder), when it left anything. The worker
    /// runs it once the outcome is recorded, so a client sees the end without waiting for the engine's removal; a node
    /// that dies before it leaves the container to its next sweep of leftovers.
    /// </summary>
    public Func<Task>? Removal { get; init; }

    /// <summary>
    /// No result, typed: in <c>empty ? null : bytes</c> a bare <c>null</c> becomes an empty <see cref="ReadOnlyMemory{T}"/>
    /// (through its conversion from an array), which is a result of zero bytes, stored and served as one.
    /// </summary>
    public static readonly ReadOnlyMemory<byte>? NoResult = null;
}

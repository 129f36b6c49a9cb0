namespace Stevedore.Application;

/// <summary>A job definition as a caller sent it: every field optional and unchecked.</summary>
public sealed record JobDraft
{
    public string? Image { get; init; }
    public IReadOnlyList<string>? Command { get; init; }
    public IReadOnlyDictionary<string, string>? Env { get; init; }
    public long? TimeoutSeconds { get; init; }
    public long? MemoryMb { get; init; }
    public double? Cpus { get; init; }
    public long? MaxConcurrency { get; init; }
    public long? Retries { get; init; }
    public long? RetryDelaySeconds { get; init; }
    public double? RetryBackoff { get; init; }
    public string? Network { get; init; }
    public long? Priority { get; init; }
    public long? RetentionDays { get; init; }
    public IReadOnlyList<string>? Subscriptions { get; init; }
    public long? MaxQueued { get; init; }
    public IReadOnlyList<string>? Capabilities { get; init; }
    public string? User { get; init; }
    public bool? ReadOnlyRootFilesystem { get; init; }
    /// <summary>Hot containers; null leaves the job cold.</summary>
    public HotDraft? Hot { get; init; }
}

/// <summary>The <c>hot</c> object of a job definition as a caller sent it.</summary>
public sealed record HotDraft
{
    public long? MaxPerNode { get; init; }
    public long? IdleSeconds { get; init; }
}

/// <summary>A task as a caller sent it.</summary>
public sealed record TaskDraft
{
    /// <summary>The payload bytes the container will see (a JSON string's raw text, other JSON as its text).</summary>
    public ReadOnlyMemory<byte> Payload { get; init; }
    public long? Priority { get; init; }
    public long? DelaySeconds { get; init; }
    public long? TimeoutSeconds { get; init; }
    public string? IdempotencyKey { get; init; }
    public IReadOnlyDictionary<string, string>? Labels { get; init; }
    /// <summary>The caller's W3C <c>traceparent</c>, if it sent one (a malformed one is ignored).</summary>
    public string? TraceParent { get; init; }
    /// <summary>Variables for the task's containers, set by triggers (a webhook's <c>STEVEDORE_HOOK_*</c>); callers of the task API cannot set it.</summary>
    public IReadOnlyDictionary<string, string>? Environment { get; init; }
}

/// <summary>A task listing request as a caller sent it (query-string values).</summary>
public sealed record TaskListDraft
{
    public string? Job { get; init; }
    public string? Status { get; init; }
    public string? Label { get; init; }
    public string? Limit { get; init; }
    public string? Cursor { get; init; }
}

namespace Stevedore.Execution.Worker;

/// <summary>Configuration section <c>Stevedore:Worker</c>: the worker node of this silo.</summary>
public sealed class WorkerOptions
{
    public const string Section = "Stevedore:Worker";

    /// <summary>Containers this node runs at once (default 2 × cores). 0 makes a silo that runs no tasks.</summary>
    public int Slots { get; set; } = 2 * Environment.ProcessorCount;

    /// <summary>The node's name; unique in the cluster and stable across restarts of the same silo.</summary>
    public string? Node { get; set; }

    /// <summary>Output kept per attempt, in bytes (10 MiB); past it one truncation line is written.</summary>
    public long LogCapBytes { get; set; } = 10L * 1024 * 1024;

    /// <summary>How often buffered output goes to the log store while a task runs.</summary>
    public TimeSpan LogFlushInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// How often the node asks its container engine whether it answers (also at once when an attempt lost it). While it
    /// does not, the node leases no tasks; when it answers again, the containers left meanwhile are removed first.
    /// </summary>
    public TimeSpan EngineCheckInterval { get; set; } = TimeSpan.FromSeconds(2);

    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(10);
}

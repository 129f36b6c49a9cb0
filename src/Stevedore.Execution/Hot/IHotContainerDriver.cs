namespace Stevedore.Execution.Hot;

/// <summary>
/// Starts hot containers: long-lived containers of one job version that serve tasks one at a time through
/// <see cref="HotProtocol"/> on their standard input and output. The Docker and the fake driver implement it; which
/// container serves which task is <see cref="HotPool"/>'s decision, the protocol is <see cref="HotSession"/>'s.
/// </summary>
public interface IHotContainerDriver
{
    /// <summary>Most bytes a response may announce (a task's result limit).</summary>
    int MaxResponseBytes { get; }

    /// <summary>
    /// Starts a hot container with the job's limits and hardening. Its standard output and error and its exit go to
    /// <paramref name="output"/> (from any thread, output in order per stream). Throws <see cref="HotStartException"/>
    /// when it cannot start, saying why.
    /// </summary>
    Task<IHotContainer> StartAsync(HotContainerRequest request, IHotOutput output, CancellationToken cancellationToken);
}

/// <summary>A running hot container.</summary>
public interface IHotContainer : IAsyncDisposable
{
    /// <summary>Writes to the container's standard input; fails when the container is gone.</summary>
    Task WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken);

    // DisposeAsync kills the container and removes it; nothing is left behind.
}

/// <summary>Where a hot container's output and exit go.</summary>
public interface IHotOutput
{
    void Stdout(ReadOnlySpan<byte> data);

    void Stderr(ReadOnlySpan<byte> data);

    /// <summary>The container stopped; its exit code when the engine knows it.</summary>
    void Exited(long? exitCode);
}

/// <summary>A hot container could not be started (image missing, refused by the engine).</summary>
public sealed class HotStartException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>What a hot container is started for: one job version on one node.</summary>
public sealed record HotContainerRequest
{
    public const string HotLabel = "stevedore.hot";

    public required string Job { get; init; }
    public required long JobVersion { get; init; }
    public required JobSpec Spec { get; init; }
    public required string Node { get; init; }

    /// <summary>The pool's id of the container on this node, for its name in logs and labels.</summary>
    public long Id { get; init; }

    /// <summary>
    /// What a hot container sees: the job's own variables, <c>STEVEDORE_JOB</c>, <c>STEVEDORE_JOB_VERSION</c> and
    /// <c>STEVEDORE_HOT</c> (the protocol version). Per-task values (task id, attempt) come with each invocation.
    /// </summary>
    public IReadOnlyList<string> Environment() =>
    [
        .. Spec.Env.Select(kv => $"{kv.Key}={kv.Value}"),
        $"STEVEDORE_JOB={Job}",
        $"STEVEDORE_JOB_VERSION={JobVersion}",
        $"STEVEDORE_HOT={HotProtocol.Version}",
    ];
}

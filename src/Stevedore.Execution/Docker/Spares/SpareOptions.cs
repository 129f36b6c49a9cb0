namespace Stevedore.Execution.Docker.Spares;

/// <summary>
/// Configuration section <c>Stevedore:Docker:Spares</c>: pre-started containers for cold tasks
/// (<see cref="SpareContainers"/>).
/// </summary>
public sealed class SpareOptions
{
    /// <summary>Most spares one job version keeps on a node (it keeps as many as its tasks run at once here); 0 turns spares off.</summary>
    public int PerJob { get; set; } = 4;

    /// <summary>Most spares a node keeps across all jobs; 0 turns spares off.</summary>
    public int Max { get; set; } = 16;

    /// <summary>A job version no task of which began on the node for this long loses its spares.</summary>
    public int IdleSeconds { get; set; } = 30;

    /// <summary>
    /// A statically linked busybox on the host (Debian's busybox-static), copied into each spare's task folder to
    /// wait for its task. When it is missing or dynamically linked, spares are off and the log says why.
    /// </summary>
    public string Shim { get; set; } = "/bin/busybox";

    /// <summary>What is wrong with these values, for a person; empty when nothing is.</summary>
    public IEnumerable<string> Problems(string section)
    {
        if (PerJob is < 0 or > 64)
        {
            yield return $"{section}:PerJob must be from 0 to 64; got {PerJob}.";
        }

        if (Max is < 0 or > 1024)
        {
            yield return $"{section}:Max must be from 0 to 1024; got {Max}.";
        }

        if (IdleSeconds is < 1 or > 86_400)
        {
            yield return $"{section}:IdleSeconds must be from 1 to 86400; got {IdleSeconds}.";
        }

        if (string.IsNullOrWhiteSpace(Shim) || !Path.IsPathFullyQualified(Shim))
        {
            yield return $"{section}:Shim must be an absolute path to a static busybox; got '{Shim}'.";
        }
    }
}

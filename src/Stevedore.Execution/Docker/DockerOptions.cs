namespace Stevedore.Execution.Docker;

/// <summary>Configuration section <c>Stevedore:Docker</c>.</summary>
public sealed class DockerOptions
{
    public const string Section = "Stevedore:Docker";

    /// <summary>The Docker Engine API: <c>unix:///var/run/docker.sock</c> or <c>tcp://host:2375</c>.</summary>
    public string Endpoint { get; set; } = "unix:///var/run/docker.sock";

    /// <summary>The pids limit of every job container.</summary>
    public long PidsLimit { get; set; } = 1024;

    /// <summary>
    /// How a container gets its payload file and gives back its result file. <c>bind</c>: a per-attempt folder under
    /// <see cref="TaskFilesPath"/>, a size-limited tmpfs the host mounts, is bind-mounted at /stevedore, so no file
    /// crosses the engine API; needs a local engine and a host that may mount (root). <c>copy</c>: files are copied in
    /// and out through the engine API. Unset: <c>bind</c> with a local engine on a unix socket when the host may
    /// mount, else <c>copy</c>.
    /// </summary>
    /// <remarks>With <c>bind</c> set and a host that cannot mount, the worker refuses to start.</remarks>
    public string? TaskFiles { get; set; }

    /// <summary>
    /// Where per-attempt folders live with <c>TaskFiles=bind</c>: a path the engine's host sees, made private to the
    /// host's user (0700); refused when it is a link or belongs to another user.
    /// </summary>
    public string TaskFilesPath { get; set; } = "/run/stevedore/tasks";

    /// <summary>True unless task files must be copied: <c>copy</c> is set, or unset with a remote engine.</summary>
    public bool WantsBindTaskFiles => TaskFiles is null ? Endpoint.StartsWith("unix:", StringComparison.Ordinal) : TaskFiles == "bind";

    /// <summary>
    /// Size in MiB of the writable tmpfs at /tmp of a job with <c>readOnlyRootFilesystem</c>; what is written there counts
    /// against the job's memory limit.
    /// </summary>
    public int TmpSizeMb { get; set; } = 64;

    /// <summary>Largest result file kept, in bytes (1 MiB).</summary>
    public int MaxResultBytes { get; set; } = 1024 * 1024;

    /// <summary>Pre-started containers for cold tasks (<c>Stevedore:Docker:Spares</c>).</summary>
    public Spares.SpareOptions Spares { get; set; } = new();
}

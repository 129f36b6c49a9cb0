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
    /// How a container gets its payload file and gives back its result file. <c>bind</c> (the default with a local
    /// engine on a unix socket): a per-task folder under <see cref="TaskFilesPath"/> is bind-mounted at /stevedore, so
    /// no file crosses the engine API. <c>copy</c> (the default with a remote engine): files are copied in and out
    /// through the engine API.
    /// </summary>
    public string? TaskFiles { get; set; }

    /// <summary>Where per-task folders live with <c>TaskFiles=bind</c>; must be a path the engine's host sees.</summary>
    public string TaskFilesPath { get; set; } = Path.Combine(Path.GetTempPath(), "stevedore-tasks");

    public bool BindTaskFiles => TaskFiles is null ? Endpoint.StartsWith("unix:", StringComparison.Ordinal) : TaskFiles == "bind";

    /// <summary>Largest result file kept, in bytes (1 MiB).</summary>
    public int MaxResultBytes { get; set; } = 1024 * 1024;
}

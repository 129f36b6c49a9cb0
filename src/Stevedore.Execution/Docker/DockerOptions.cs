namespace Stevedore.Execution.Docker;

/// <summary>Configuration section <c>Stevedore:Docker</c>.</summary>
public sealed class DockerOptions
{
    public const string Section = "Stevedore:Docker";

    /// <summary>The Docker Engine API: <c>unix:///var/run/docker.sock</c> or <c>tcp://host:2375</c>.</summary>
    public string Endpoint { get; set; } = "unix:///var/run/docker.sock";

    /// <summary>The pids limit of every job container.</summary>
    public long PidsLimit { get; set; } = 1024;

    /// <summary>Largest result file kept, in bytes (1 MiB).</summary>
    public int MaxResultBytes { get; set; } = 1024 * 1024;
}

using Docker.DotNet.Models;

namespace Stevedore.Execution.Docker;

/// <summary>The limits and hardening every job container gets, cold or hot (SPEC "What a job container sees").</summary>
internal static class ContainerHardening
{
    /// <summary>
    /// A job container attached on all three streams with the job's image, command and user, its limits and
    /// hardening. <paramref name="stdinOnce"/>: standard input closes after the first attach (a cold task's payload);
    /// false keeps it open for the invocations of a hot container.
    /// </summary>
    public static CreateContainerParameters Parameters(
        JobSpec spec, DockerOptions options, IList<string> env, IDictionary<string, string> labels, bool stdinOnce) => new()
    {
        Image = spec.Image,
        Cmd = spec.Command?.ToList(),
        Env = env,
        Labels = labels,
        AttachStdin = true,
        AttachStdout = true,
        AttachStderr = true,
        OpenStdin = true,
        StdinOnce = stdinOnce,
        Tty = false,
        User = spec.User,
        HostConfig = HostConfig(spec, options),
    };

    public static HostConfig HostConfig(JobSpec spec, DockerOptions options)
    {
        var memory = spec.MemoryMb * 1024L * 1024L;
        return new HostConfig
        {
            Memory = memory,
            MemorySwap = memory,
            NanoCPUs = (long)Math.Round(spec.Cpus * 1_000_000_000),
            PidsLimit = options.PidsLimit,
            SecurityOpt = ["no-new-privileges"],
            NetworkMode = spec.Network,
            // Every capability dropped but those the job lists (from Validation.AllowedCapabilities).
            CapDrop = ["ALL"],
            CapAdd = spec.Capabilities.Count == 0 ? null : [.. spec.Capabilities],
            ReadonlyRootfs = spec.ReadOnlyRootFilesystem,
            Tmpfs = spec.ReadOnlyRootFilesystem
                ? new Dictionary<string, string> { ["/tmp"] = $"rw,nosuid,nodev,size={options.TmpSizeMb}m,mode=1777" }
                : null,
            // Stevedore captures the output through the attach; a second copy in the engine's log would only grow.
            LogConfig = new LogConfig { Type = "none" },
        };
    }
}

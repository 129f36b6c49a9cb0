using Microsoft.Extensions.Options;
using Stevedore.Execution.Docker;
using Stevedore.Execution.Worker;
using Stevedore.Options;

namespace Stevedore.Host.Hosting;

/// <summary>Refuses to start on settings that cannot work, naming the key to fix.</summary>
public sealed class StevedoreOptionsValidator :
    IValidateOptions<QueueOptions>, IValidateOptions<WorkerOptions>, IValidateOptions<DockerOptions>
{
    public ValidateOptionsResult Validate(string? name, QueueOptions options)
    {
        var failures = new List<string>();
        if (options.Partitions is < 1 or > 1024)
        {
            failures.Add($"{QueueOptions.Section}:Partitions must be from 1 to 1024; got {options.Partitions}.");
        }

        if (options.MaxPayloadBytes is < 0 or > 64 * 1024 * 1024)
        {
            failures.Add($"{QueueOptions.Section}:MaxPayloadBytes must be from 0 to 67108864; got {options.MaxPayloadBytes}.");
        }

        if (options.ReconcileInterval < TimeSpan.FromMilliseconds(100) || options.ReconcileInterval > TimeSpan.FromHours(1))
        {
            failures.Add($"{QueueOptions.Section}:ReconcileInterval must be from 00:00:00.1 to 01:00:00; got {options.ReconcileInterval}.");
        }

        if (options.MaxBatchBytes is < 1024 or > 1024L * 1024 * 1024)
        {
            failures.Add($"{QueueOptions.Section}:MaxBatchBytes must be from 1024 to 1073741824; got {options.MaxBatchBytes}.");
        }

        if (options.IdempotencyWindow <= TimeSpan.Zero)
        {
            failures.Add($"{QueueOptions.Section}:IdempotencyWindow must be positive (e.g. 24:00:00).");
        }

        return Result(failures);
    }

    public ValidateOptionsResult Validate(string? name, WorkerOptions options)
    {
        var failures = new List<string>();
        if (options.Slots is < 0 or > 10_000)
        {
            failures.Add($"{WorkerOptions.Section}:Slots must be from 0 to 10000; got {options.Slots}.");
        }

        if (options.Node is { } node && (node.Length is 0 or > 200 || node.Any(char.IsControl)))
        {
            failures.Add($"{WorkerOptions.Section}:Node must be 1–200 printable characters.");
        }

        if (options.LogCapBytes < 1024)
        {
            failures.Add($"{WorkerOptions.Section}:LogCapBytes must be at least 1024; got {options.LogCapBytes}.");
        }

        if (options.LogFlushInterval <= TimeSpan.Zero || options.HeartbeatInterval <= TimeSpan.Zero || options.EngineCheckInterval <= TimeSpan.Zero)
        {
            failures.Add($"{WorkerOptions.Section}:LogFlushInterval, HeartbeatInterval and EngineCheckInterval must be positive.");
        }

        return Result(failures);
    }

    public ValidateOptionsResult Validate(string? name, DockerOptions options)
    {
        var failures = new List<string>();
        if (!Uri.TryCreate(options.Endpoint, UriKind.Absolute, out var uri) || uri.Scheme is not ("unix" or "tcp" or "http" or "npipe"))
        {
            failures.Add($"{DockerOptions.Section}:Endpoint '{options.Endpoint}' is not a Docker endpoint: use unix:///var/run/docker.sock or tcp://host:2375.");
        }

        if (options.TaskFiles is not (null or "bind" or "copy"))
        {
            failures.Add($"{DockerOptions.Section}:TaskFiles '{options.TaskFiles}' is unknown: use bind (a local engine) or copy (any engine).");
        }

        if (options.PidsLimit < 1)
        {
            failures.Add($"{DockerOptions.Section}:PidsLimit must be at least 1.");
        }

        if (options.MaxResultBytes is < 0 or > 64 * 1024 * 1024)
        {
            failures.Add($"{DockerOptions.Section}:MaxResultBytes must be from 0 to 67108864; got {options.MaxResultBytes}.");
        }

        if (options.TmpSizeMb is < 1 or > 65_536)
        {
            failures.Add($"{DockerOptions.Section}:TmpSizeMb must be from 1 to 65536; got {options.TmpSizeMb}.");
        }

        failures.AddRange(options.Spares.Problems($"{DockerOptions.Section}:Spares"));

        return Result(failures);
    }

    private static ValidateOptionsResult Result(List<string> failures) =>
        failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
}

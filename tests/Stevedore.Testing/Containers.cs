using Docker.DotNet;
using Docker.DotNet.Models;
using Xunit;

namespace Stevedore.Testing;

/// <summary>
/// What tests ask the Docker Engine directly: the containers carrying a label, removing them (fixtures sweep their
/// own node's containers on dispose, pass or fail), the engine's event history, and running a command in a container.
/// </summary>
public static class Containers
{
    public const string TaskLabel = "stevedore.task";
    public const string JobLabel = "stevedore.job";
    public const string NodeLabel = "stevedore.node";

    private static readonly Uri s_endpoint = new("unix:///var/run/docker.sock");

    public static DockerClient Connect() => new DockerClientConfiguration(s_endpoint).CreateClient();

    /// <summary>Containers with <paramref name="label"/>=<paramref name="value"/>, stopped ones too unless <paramref name="runningOnly"/>.</summary>
    public static async Task<IList<ContainerListResponse>> ListAsync(string label, string value, bool runningOnly = false)
    {
        using var docker = Connect();
        var filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [$"{label}={value}"] = true } };
        if (runningOnly)
        {
            filters["status"] = new Dictionary<string, bool> { ["running"] = true };
        }

        return await docker.Containers.ListContainersAsync(new ContainersListParameters { All = !runningOnly, Filters = filters });
    }

    /// <summary>Removes (force) every container with <paramref name="label"/>=<paramref name="value"/>; returns how many.</summary>
    public static async Task<int> SweepAsync(string label, string value)
    {
        using var docker = Connect();
        var left = await ListAsync(label, value);
        foreach (var container in left)
        {
            try
            {
                await docker.Containers.RemoveContainerAsync(container.ID, new ContainerRemoveParameters { Force = true, RemoveVolumes = true });
            }
            catch (DockerContainerNotFoundException)
            {
            }
        }

        return left.Count;
    }

    /// <summary>
    /// The engine's container events (start, die, destroy, …) for containers with <paramref name="label"/>=<paramref name="value"/>
    /// between two moments, in the order the engine emitted them: an exact history, where sampling
    /// <c>docker ps</c> would miss short overlaps.
    /// </summary>
    public static async Task<IReadOnlyList<Message>> EventsAsync(string label, string value, DateTimeOffset since, DateTimeOffset until)
    {
        using var docker = Connect();
        var events = new List<Message>();
        await docker.System.MonitorEventsAsync(
            new ContainerEventsParameters
            {
                Since = since.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture),
                Until = (until.ToUnixTimeSeconds() + 1).ToString(System.Globalization.CultureInfo.InvariantCulture),
                Filters = new Dictionary<string, IDictionary<string, bool>>
                {
                    ["type"] = new Dictionary<string, bool> { ["container"] = true },
                    ["label"] = new Dictionary<string, bool> { [$"{label}={value}"] = true },
                },
            },
            new SyncProgress<Message>(events.Add),
            CancellationToken.None);
        return events;
    }

    /// <summary>The most containers running at once according to <paramref name="events"/> (start … die).</summary>
    public static int MaxRunningAtOnce(IEnumerable<Message> events)
    {
        var running = new HashSet<string>(StringComparer.Ordinal);
        var max = 0;
        foreach (var e in events)
        {
            if (e.Action == "start")
            {
                running.Add(e.Actor.ID);
                max = Math.Max(max, running.Count);
            }
            else if (e.Action is "die" or "destroy")
            {
                running.Remove(e.Actor.ID);
            }
        }

        return max;
    }

    /// <summary>Runs <paramref name="command"/> in a running container and waits for it to end.</summary>
    public static async Task ExecAsync(string containerId, params string[] command)
    {
        using var docker = Connect();
        var exec = await docker.Exec.ExecCreateContainerAsync(containerId, new ContainerExecCreateParameters { Cmd = command });
        using (var stream = await docker.Exec.StartAndAttachContainerExecAsync(exec.ID, tty: false))
        {
            await stream.ReadOutputToEndAsync(CancellationToken.None);
        }

        var inspect = await docker.Exec.InspectContainerExecAsync(exec.ID);
        Assert.True(inspect.ExitCode == 0, $"`{string.Join(' ', command)}` in {containerId} exited with {inspect.ExitCode}");
    }

    /// <summary>Reports on the calling thread, so a caller's list is complete when the call returns.</summary>
    private sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}

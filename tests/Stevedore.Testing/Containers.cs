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
    public const string SpareLabel = "stevedore.spare";

    /// <summary>The name of a pre-started container no task has taken yet; a taken one is renamed <c>stevedore-{task}-{attempt}</c>.</summary>
    public const string UnusedSparePrefix = "/stevedore-spare-";

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

    /// <summary>
    /// The containers that ran (or run) task <paramref name="taskId"/>: a cold one carries its label, a pre-started one
    /// was renamed after it when the task took it.
    /// </summary>
    public static async Task<IList<ContainerListResponse>> OfTaskAsync(string taskId)
    {
        using var docker = Connect();
        var byName = await docker.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["name"] = new Dictionary<string, bool> { [$"stevedore-{taskId}-"] = true } },
        });
        return [.. (await ListAsync(TaskLabel, taskId)).Concat(byName).DistinctBy(c => c.ID)];
    }

    /// <summary>
    /// Waits until <paramref name="list"/> shows no container: a task's container is removed just after the task's
    /// outcome is recorded, so a moment after the task shows its end.
    /// </summary>
    public static Task NoneLeftAsync(Func<Task<IList<ContainerListResponse>>> list, string what) =>
        Wait.UntilAsync(list, left => left.Count == 0, $"{what} to be removed", describe: left =>
            $"{left.Count} left: {string.Join(", ", left.Select(c => $"{c.ID[..12]} ({c.State}, {string.Join(' ', c.Names)})"))}");

    /// <summary>Waits until no container of task <paramref name="taskId"/> is left (see <see cref="NoneLeftAsync"/>).</summary>
    public static Task GoneAsync(string taskId) => NoneLeftAsync(() => OfTaskAsync(taskId), $"the containers of task {taskId}");

    /// <summary>Whether <paramref name="container"/> is a pre-started container that no task has taken (it ran nothing).</summary>
    public static bool IsUnusedSpare(ContainerListResponse container) =>
        container.Labels.ContainsKey(SpareLabel) && container.Names.All(n => n.StartsWith(UnusedSparePrefix, StringComparison.Ordinal));

    /// <summary>Containers of <paramref name="job"/> that ran a task (unused pre-started ones left out), stopped ones too.</summary>
    public static async Task<List<ContainerListResponse>> TaskContainersOfJobAsync(string job) =>
        [.. (await ListAsync(JobLabel, job)).Where(c => !IsUnusedSpare(c))];

    /// <summary>Waits for a pre-started container of <paramref name="job"/> that runs and waits for a task, and returns it.</summary>
    public static async Task<ContainerListResponse> ReadySpareAsync(string job, TimeSpan? deadline = null) =>
        (await Wait.UntilAsync(
            async () => (await ListAsync(JobLabel, job, runningOnly: true)).Where(IsUnusedSpare).ToList(),
            spares => spares.Count > 0,
            $"a pre-started container of job {job}",
            deadline ?? TimeSpan.FromSeconds(60),
            spares => $"{spares.Count} running")).First();

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
            catch (DockerApiException ex) when (ex.StatusCode == System.Net.HttpStatusCode.Conflict)
            {
                // Being removed already (by the node, once its task's outcome was recorded).
            }
        }

        return left.Count;
    }

    /// <summary>
    /// Starts recording the engine's container events (start, die, destroy, …) for containers with
    /// <paramref name="label"/>=<paramref name="value"/>, live, in the order the engine emits them: an exact history,
    /// where sampling <c>docker ps</c> would miss short overlaps. Live, because the engine keeps only its last few hundred
    /// events for a later query, and a busy engine (other tests in parallel) drops a test's early ones from it.
    /// </summary>
    public static EventRecorder RecordEvents(string label, string value) => new(label, value);

    /// <summary>A live subscription to the engine's events of one label; <see cref="StopAsync"/> ends it.</summary>
    public sealed class EventRecorder : IAsyncDisposable
    {
        private readonly DockerClient _docker = Connect();
        private readonly CancellationTokenSource _stop = new();
        private readonly List<Message> _events = [];
        private readonly Task _monitor;

        internal EventRecorder(string label, string value)
        {
            var parameters = new ContainerEventsParameters
            {
                // From a second back: the stream replays what the engine has since then, so nothing between this call
                // and the subscription being in place is missed.
                Since = (DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 1).ToString(System.Globalization.CultureInfo.InvariantCulture),
                Filters = new Dictionary<string, IDictionary<string, bool>>
                {
                    ["type"] = new Dictionary<string, bool> { ["container"] = true },
                    ["label"] = new Dictionary<string, bool> { [$"{label}={value}"] = true },
                },
            };
            _monitor = _docker.System.MonitorEventsAsync(parameters, new SyncProgress<Message>(Add), _stop.Token);
        }

        private IReadOnlyList<Message> Snapshot()
        {
            lock (_events)
            {
                return [.. _events];
            }
        }

        /// <summary>
        /// Waits until every container seen starting has also been seen dying (the engine emits events a moment after
        /// the fact), then stops and returns the events.
        /// </summary>
        public async Task<IReadOnlyList<Message>> StopAsync()
        {
            await Wait.UntilAsync(
                () =>
                {
                    var events = Snapshot();
                    var died = events.Where(e => e.Action == "die").Select(e => e.Actor.ID).ToHashSet(StringComparer.Ordinal);
                    return events.Where(e => e.Action == "start").All(e => died.Contains(e.Actor.ID));
                },
                "the engine's 'die' event of every container it reported starting");
            await DisposeAsync();
            return Snapshot();
        }

        public async ValueTask DisposeAsync()
        {
            if (!_stop.IsCancellationRequested)
            {
                await _stop.CancelAsync();
                try
                {
                    await _monitor;
                }
                catch (OperationCanceledException)
                {
                }

                _docker.Dispose();
            }
        }

        private void Add(Message message)
        {
            lock (_events)
            {
                _events.Add(message);
            }
        }
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

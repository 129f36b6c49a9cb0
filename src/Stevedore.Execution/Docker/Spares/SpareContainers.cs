using System.Collections.Concurrent;
using System.Globalization;
using Docker.DotNet;
using Docker.DotNet.Models;
using Microsoft.Extensions.Logging;
using Stevedore.Execution.Docker.TaskFiles;

namespace Stevedore.Execution.Docker.Spares;

/// <summary>
/// Pre-started containers ("spares") for cold tasks: a container created, attached and started with the job's image,
/// limits, hardening, network and the job's own variables before its task exists, waiting in <see cref="SpareShim"/>.
/// A task that finds one skips the engine's create and start — the bulk of a cold start — and only hands over its
/// payload and variables; the container then serves that one task and is removed with it, as a cold one is. Which job
/// versions keep spares and how many is <see cref="SparePool{T}"/>'s call; this class does the engine's part.
/// </summary>
/// <remarks>
/// Not for hot jobs (they keep containers of their own) nor for jobs with <c>maxConcurrency</c>: a waiting spare is a
/// running container of its job to the engine, and such a job's limit is also what operators read off the engine.
/// Needs bind-mounted task files (the folder is mounted before the payload is known) and a static shim on the host.
/// </remarks>
internal sealed partial class SpareContainers : IAsyncDisposable
{
    public const string SpareLabel = "stevedore.spare";

    /// <summary>How a spare's name begins until a task takes it (then it is <see cref="NameOf"/> that task).</summary>
    public const string UnusedNamePrefix = "stevedore-spare-";
    private static readonly TimeSpan s_disposeTimeout = TimeSpan.FromSeconds(8);

    private readonly DockerClient _client;
    private readonly DockerOptions _options;
    private readonly BindMountedTaskFiles _files;
    private readonly AttemptEnd _end;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly byte[] _shim;
    private readonly SparePool<Spare> _pool;
    private readonly Lock _gate = new();
    private readonly List<Task> _background = [];
    private readonly ConcurrentDictionary<string, Spare> _inUse = new(StringComparer.Ordinal);
    private readonly ITimer _expiry;
    private bool _disposed;

    private SpareContainers(
        DockerClient client, DockerOptions options, BindMountedTaskFiles files, byte[] shim, AttemptEnd end, TimeProvider time, ILogger logger)
    {
        _client = client;
        _shim = shim;
        _time = time;
        _options = options;
        _files = files;
        _end = end;
        _logger = logger;
        var spares = options.Spares;
        var idle = TimeSpan.FromSeconds(spares.IdleSeconds);
        _pool = new SparePool<Spare>(spares.PerJob, spares.Max, idle, backoff: TimeSpan.FromSeconds(30));
        var period = TimeSpan.FromTicks(Math.Clamp(idle.Ticks / 3, TimeSpan.FromMilliseconds(500).Ticks, TimeSpan.FromSeconds(10).Ticks));
        _expiry = _time.CreateTimer(_ => Expire(), null, period, period);
    }

    /// <summary>Spares for this driver, or null (and the log says why) when they are off or cannot work here.</summary>
    public static SpareContainers? Create(DockerClient client, DockerOptions options, ITaskFiles files, AttemptEnd end, TimeProvider time, ILogger logger)
    {
        if (options.Spares.PerJob == 0 || options.Spares.Max == 0)
        {
            return null;
        }

        var reason = files is BindMountedTaskFiles
            ? SpareShim.CheckStatic(options.Spares.Shim)
            : "task files are copied through the engine API, and a spare's folder must be mounted before its task is known";
        if (reason is not null)
        {
            LogSparesOff(logger, reason);
            return null;
        }

        byte[] shim;
        try
        {
            shim = File.ReadAllBytes(options.Spares.Shim);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            LogSparesOff(logger, $"{options.Spares.Shim} cannot be read: {ex.Message}");
            return null;
        }

        return new SpareContainers(client, options, (BindMountedTaskFiles)files, shim, end, time, logger);
    }

    /// <summary>Spares of <paramref name="job"/> ready for its next task here.</summary>
    public int Ready(string job)
    {
        lock (_gate)
        {
            return _pool.Ready(job);
        }
    }

    /// <summary>
    /// What tells two definitions of a job version apart (a job deleted and made again starts at version 1 again): its
    /// spec, as JSON.
    /// </summary>
    private static string Definition(ContainerRunRequest request) => System.Text.Json.JsonSerializer.Serialize(request.Spec);

    /// <summary>Whether a task may run in a spare (and count towards its job's spares).</summary>
    public static bool Fits(ContainerRunRequest request) =>
        request.Spec.Hot is null && request.Spec.MaxConcurrency == 0 && request.Node.Length > 0 && SpareShim.CanCarry(request.TaskEnvironment);

    /// <summary>
    /// A task that <see cref="Fits"/> begins: returns a ready spare it may run in (or null: it runs cold), and starts
    /// the spares its job wants for the next ones. Every call is paired with <see cref="End"/>, given the same
    /// <paramref name="definition"/>.
    /// </summary>
    public Spare? Begin(ContainerRunRequest request, out string definition)
    {
        var retired = new List<Spare>();
        Spare? spare;
        // Serialized once per task, outside the lock; a copy, as an out parameter cannot be used in the starts' lambda.
        var spec = definition = Definition(request);
        lock (_gate)
        {
            if (_disposed)
            {
                return null;
            }

            spare = _pool.Begin(request.Job, request.JobVersion, spec, _time.GetUtcNow(), out var toStart, retired);
            if (spare is not null)
            {
                spare.Taken = true;
            }

            var generation = _pool.Generation;
            for (var i = 0; i < toStart; i++)
            {
                Track(Task.Run(() => StartOneAsync(request, spec, generation)));
            }

            DiscardAll(retired);
        }

        if (spare is not null)
        {
            _inUse[request.TaskId] = spare;
        }

        return spare;
    }

    public void End(ContainerRunRequest request, string definition)
    {
        _inUse.TryRemove(request.TaskId, out _);
        lock (_gate)
        {
            _pool.End(request.Job, request.JobVersion, definition, _time.GetUtcNow());
        }
    }

    /// <summary>
    /// Hands <paramref name="request"/> to <paramref name="spare"/> (payload and env files in its folder). False when that
    /// failed: the spare is removed and the task runs cold.
    /// </summary>
    public bool TryAssign(Spare spare, ContainerRunRequest request)
    {
        try
        {
            spare.Folder.Assign(request.Payload.Span, SpareShim.EnvScript([.. spare.Shell, .. request.TaskVariables()]));
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            LogAssignFailed(_logger, ex, request.TaskId);
            _inUse.TryRemove(request.TaskId, out _);
            Track(DiscardAsync(spare));
            return false;
        }
    }

    /// <summary>
    /// Runs an assigned task in its spare, to the end; the exit's <see cref="ContainerExit.Removal"/> removes the spare.
    /// Null when the job never ran in it (the spare was gone before its task came; it is removed before this returns):
    /// the task then runs in a container of its own.
    /// </summary>
    public async Task<ContainerExit?> RunAsync(Spare spare, ContainerRunRequest request, ITaskLogWriter log, CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(request.Timeout);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        var stoppedBy = AttemptEnd.StoppedBy(timeout, cancellationToken);
        ContainerExit? exit = null;
        try
        {
            exit = await RunInAsync(spare, request, log, stoppedBy, linked);
            return exit is null ? null : exit with { Removal = () => DiscardAsync(spare) };
        }
        finally
        {
            if (exit is null)
            {
                await DiscardAsync(spare);
            }
        }
    }

    private async Task<ContainerExit?> RunInAsync(
        Spare spare, ContainerRunRequest request, ITaskLogWriter log, Func<StopCause> stoppedBy, CancellationTokenSource linked)
    {
        try
        {
            // Named after its task before the job starts: a lease keeper finds it by that name if this node dies.
            await RenameAsync(spare.Id, request);
            if (linked.IsCancellationRequested)
            {
                // Cancelled before it began: the job never starts, as a cold one that was never started.
                return ContainerExits.Classify(AttemptEnd.Ending(request, stoppedBy()));
            }

            spare.Output.Target = log;
            // "go", then the payload: the shim reads the one line, the job what follows.
            _ = AttemptEnd.FeedStdinAsync(spare.Stream, (byte[])[.. System.Text.Encoding.ASCII.GetBytes(SpareShim.Go), .. request.Payload.Span]);
            var exit = await _end.AwaitAsync(spare.Id, request, spare.Folder, log, spare.Pump, stoppedBy, linked.Token);
            // A spare that died before its task came (its shim never took the env file) ran nothing: not the job's failure.
            return exit.Status == TaskRunStatus.Failed && spare.Folder.NotTaken() ? null : exit;
        }
        catch (OperationCanceledException) when (linked.IsCancellationRequested)
        {
            return ContainerExits.Classify(AttemptEnd.Ending(request, stoppedBy()));
        }
        catch (DockerContainerNotFoundException)
        {
            // Removed before the job ran (an engine sweep, an operator).
            return null;
        }
        catch (DockerApiException ex)
        {
            return new ContainerExit { Status = TaskRunStatus.Failed, Error = $"Docker refused the container: {DockerErrors.Message(ex)}" };
        }
    }

    /// <summary>Whether <paramref name="container"/> is a spare no task has taken: it ran nothing.</summary>
    public static bool IsUnused(ContainerListResponse container) =>
        container.Labels.ContainsKey(SpareLabel) && container.Names.All(n => n.StartsWith("/" + UnusedNamePrefix, StringComparison.Ordinal));

    /// <summary>The name a spare gets when a task takes it (<paramref name="attempt"/> null: the prefix of any attempt's).</summary>
    public static string NameOf(string taskId, int? attempt) =>
        $"stevedore-{taskId}-{attempt?.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>Kills and removes the spare running <paramref name="taskId"/>, if one does.</summary>
    public async Task KillTaskAsync(string taskId)
    {
        if (_inUse.TryGetValue(taskId, out var spare))
        {
            await _end.RemoveAsync(spare.Id);
        }
    }

    /// <summary>Containers of spares running one of <paramref name="tasks"/>: a sweep of the node's leftovers keeps them.</summary>
    public IReadOnlySet<string> ContainersRunning(IReadOnlySet<string> tasks) =>
        _inUse.Where(kv => tasks.Contains(kv.Key)).Select(kv => kv.Value.Id).ToHashSet(StringComparer.Ordinal);

    /// <summary>Forgets every ready spare (the node's sweep removed their containers, or the engine went away) and removes what is left of them.</summary>
    public void Drain()
    {
        lock (_gate)
        {
            DiscardAll(_pool.Drain());
        }
    }

    /// <summary>Job <paramref name="job"/> changed to <paramref name="version"/> (null: deleted): its other versions' spares go.</summary>
    public void Retire(string job, long? version)
    {
        lock (_gate)
        {
            DiscardAll(_pool.Retire(job, version));
        }
    }

    private void Expire()
    {
        lock (_gate)
        {
            DiscardAll(_pool.Expire(_time.GetUtcNow()));
        }
    }

    private async Task RenameAsync(string id, ContainerRunRequest request)
    {
        try
        {
            // What `docker ps` shows: the task and attempt this container runs (its labels were set before either existed).
            await _client.Containers.RenameContainerAsync(
                id, new ContainerRenameParameters { NewName = NameOf(request.TaskId, request.Attempt) }, CancellationToken.None);
        }
        catch (Exception ex) when (ex is DockerApiException or IOException or HttpRequestException)
        {
            LogRenameFailed(_logger, id, request.TaskId, ex.Message);
        }
    }

    /// <summary>Removes <paramref name="spares"/> in the background; the caller holds the gate.</summary>
    private void DiscardAll(IEnumerable<Spare> spares)
    {
        foreach (var spare in spares)
        {
            Track(DiscardAsync(spare));
        }
    }

    private async Task DiscardAsync(Spare spare)
    {
        try
        {
            await _end.RemoveAsync(spare.Id);
        }
        finally
        {
            spare.Stream.Dispose();
            spare.Folder.Dispose();
        }
    }

    /// <summary>Keeps a background start or removal, for <see cref="DisposeAsync"/> to await (the lock is re-entrant).</summary>
    private void Track(Task task)
    {
        lock (_gate)
        {
            _background.RemoveAll(t => t.IsCompleted);
            _background.Add(task);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Task[] pending;
        lock (_gate)
        {
            _disposed = true;
            DiscardAll(_pool.Drain());

            pending = [.. _background];
        }

        await _expiry.DisposeAsync();
        await Task.WhenAll(pending).WaitAsync(s_disposeTimeout).ContinueWith(_ => { }, TaskScheduler.Default);
        lock (_gate)
        {
            pending = [.. _background];
        }

        await Task.WhenAll(pending).WaitAsync(s_disposeTimeout).ContinueWith(_ => { }, TaskScheduler.Default);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Pre-started containers are off: {Reason}.")]
    private static partial void LogSparesOff(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Handing task {TaskId} to a pre-started container failed; it runs in a container of its own.")]
    private static partial void LogAssignFailed(ILogger logger, Exception ex, string taskId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Container {ContainerId} could not be named after task {TaskId}: {Reason}")]
    private static partial void LogRenameFailed(ILogger logger, string containerId, string taskId, string reason);
}

using System.Runtime.CompilerServices;
using Docker.DotNet;
using Docker.DotNet.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Stevedore.Execution.Docker.Spares;
using Stevedore.Execution.Docker.TaskFiles;
using Stevedore.Storage;

namespace Stevedore.Execution.Docker;

/// <summary>
/// Runs each attempt in a container of its own through the Docker Engine API: one pre-started for its job version
/// when one is ready (<see cref="SpareContainers"/>), else a fresh one — create (pulling the image when the engine
/// lacks it), attach, start — then wait, and always remove. Task files go through <see cref="ITaskFiles"/>; the end of
/// an attempt is <see cref="AttemptEnd"/>'s, and how the container ended is judged by <see cref="ContainerExits"/>.
/// </summary>
public sealed partial class DockerContainerDriver : IContainerDriver, IDisposable, IAsyncDisposable
{
    private const string AttemptLabel = "stevedore.attempt";

    private readonly DockerClient _client;
    private readonly DockerOptions _options;
    private readonly ILogger<DockerContainerDriver> _logger;
    private readonly ImagePuller _images;
    private readonly ITaskFiles _taskFiles;
    private readonly AttemptEnd _end;
    private readonly SpareContainers? _spares;

    public DockerContainerDriver(IOptions<DockerOptions> options, ILogger<DockerContainerDriver> logger, TimeProvider? time = null)
    {
        _options = options.Value;
        _logger = logger;
        _client = new DockerClientConfiguration(new Uri(_options.Endpoint)).CreateClient();
        _images = new ImagePuller(_client, logger);
        _taskFiles = ChooseTaskFiles(_options, _client, logger);
        _end = new AttemptEnd(_client, logger);
        _spares = SpareContainers.Create(_client, _options, _taskFiles, _end, time ?? TimeProvider.System, logger);
    }

    /// <summary>Pre-started containers of <paramref name="job"/> ready for its next task on this node.</summary>
    public int SparesReady(string job) => _spares?.Ready(job) ?? 0;

    public void JobChanged(string job, long? version) => _spares?.Retire(job, version);

    private static ITaskFiles ChooseTaskFiles(DockerOptions options, DockerClient client, ILogger logger)
    {
        if (!options.WantsBindTaskFiles)
        {
            return new CopiedTaskFiles(client, options);
        }

        try
        {
            if (!OperatingSystem.IsLinux())
            {
                throw new PlatformNotSupportedException("bind-mounted task folders need a Linux host");
            }

            return BindMountedTaskFiles.Open(options, logger);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or PlatformNotSupportedException)
        {
            if (options.TaskFiles == "bind")
            {
                throw new InvalidOperationException(
                    $"{DockerOptions.Section}:TaskFiles is bind, but this host cannot keep task folders bounded and private: {ex.Message}. " +
                    "Run the host as root on Linux, or set TaskFiles to copy.", ex);
            }

            LogBindUnavailable(logger, ex.Message);
            return new CopiedTaskFiles(client, options);
        }
    }

    public async Task<string?> CheckHealthAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _client.System.PingAsync(cancellationToken);
            return null;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return $"Docker engine at {_options.Endpoint} does not answer: {ex.Message}";
        }
    }

    public async Task<int> RemoveLabelledAsync(string label, string value, CancellationToken cancellationToken)
    {
        var containers = await ListLabelledAsync(cancellationToken, $"{label}={value}");
        if (label == ContainerRunRequest.TaskLabel)
        {
            // A task that ran in a pre-started container (of any node) finds it by the name it was given.
            containers = [.. containers, .. await SparesRunningAsync(value, cancellationToken)];
        }

        foreach (var container in containers)
        {
            await _end.RemoveAsync(container.ID);
        }

        if (label == ContainerRunRequest.TaskLabel && _spares is not null)
        {
            // Taken a moment ago and not renamed yet: this node knows it.
            await _spares.KillTaskAsync(value);
        }

        if (label == ContainerRunRequest.NodeLabel)
        {
            _spares?.Drain();
            _taskFiles.RemoveLeftovers(value);
        }

        // Pre-started containers no task took ran nothing: they are removed, not counted as left behind.
        return containers.Count(c => !SpareContainers.IsUnused(c));
    }

    public async Task<int> RemoveLeftoversAsync(string node, IReadOnlySet<string> keepTasks, CancellationToken cancellationToken)
    {
        var removed = 0;
        // Spares go too (every one of them may have lost its engine); those running a task that runs on are kept.
        _spares?.Drain();
        var keepSpares = _spares?.ContainersRunning(keepTasks) ?? new HashSet<string>();
        foreach (var container in await ListLabelledAsync(cancellationToken, $"{ContainerRunRequest.NodeLabel}={node}"))
        {
            if ((container.Labels.TryGetValue(ContainerRunRequest.TaskLabel, out var task) && keepTasks.Contains(task)) || keepSpares.Contains(container.ID))
            {
                continue;
            }

            // Removed for sure, or the sweep fails and is tried again: an engine that went again must not count as swept.
            try
            {
                await _client.Containers.RemoveContainerAsync(container.ID, new ContainerRemoveParameters { Force = true, RemoveVolumes = true }, cancellationToken);
                removed++;
            }
            catch (DockerContainerNotFoundException)
            {
                // Gone already.
            }
            catch (DockerApiException ex) when (ex.StatusCode == System.Net.HttpStatusCode.Conflict)
            {
                // Being removed already (a spare the node let go of just now).
            }
        }

        return removed;
    }

    public async Task<ContainerExit> RunAsync(ContainerRunRequest request, ITaskLogWriter log, CancellationToken cancellationToken)
    {
        if (_spares is null || !SpareContainers.Fits(request))
        {
            return await RunColdAsync(request, log, cancellationToken);
        }

        var spare = _spares.Begin(request, out var definition);
        try
        {
            if (spare is not null && _spares.TryAssign(spare, request)
                && await _spares.RunAsync(spare, request, log, cancellationToken) is { } exit)
            {
                return exit;
            }

            return await RunColdAsync(request, log, cancellationToken);
        }
        finally
        {
            _spares.End(request, definition);
        }
    }

    /// <summary>Runs the task in a container of its own, which the exit's <see cref="ContainerExit.Removal"/> removes.</summary>
    private async Task<ContainerExit> RunColdAsync(ContainerRunRequest request, ITaskLogWriter log, CancellationToken cancellationToken)
    {
        var files = _taskFiles.Prepare(request);
        var container = new StrongBox<string?>();
        ContainerExit exit;
        try
        {
            exit = await RunColdInAsync(request, files, container, log, cancellationToken);
        }
        catch
        {
            await RemoveAsync(container.Value, files);
            throw;
        }

        return exit with { Removal = () => RemoveAsync(container.Value, files) };
    }

    /// <summary>Removes an attempt's container, then its task folder (which the container mounted).</summary>
    private async Task RemoveAsync(string? containerId, ITaskFolder files)
    {
        try
        {
            if (containerId is not null)
            {
                await _end.RemoveAsync(containerId);
            }
        }
        finally
        {
            files.Dispose();
        }
    }

    private async Task<ContainerExit> RunColdInAsync(
        ContainerRunRequest request, ITaskFolder files, StrongBox<string?> container, ITaskLogWriter log, CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(request.Timeout);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        var stoppedBy = AttemptEnd.StoppedBy(timeout, cancellationToken);
        try
        {
            // Create first and pull only when the engine lacks the image: one round trip less on the usual path.
            string containerId;
            try
            {
                containerId = await CreateAsync(request, files);
            }
            catch (DockerApiException ex) when (ex.StatusCode == System.Net.HttpStatusCode.NotFound)
            {
                if (await _images.EnsureAsync(request.Spec.Image, linked.Token) is { } pullError)
                {
                    return new ContainerExit { Status = TaskRunStatus.Failed, Error = pullError };
                }

                containerId = await CreateAsync(request, files);
            }

            container.Value = containerId;
            linked.Token.ThrowIfCancellationRequested();
            // The payload file and the attach are independent: do both at once, then start.
            var attach = _client.Containers.AttachContainerAsync(
                containerId, tty: false, new ContainerAttachParameters { Stream = true, Stdin = true, Stdout = true, Stderr = true }, linked.Token);
            await Task.WhenAll(attach, files.BeforeStartAsync(containerId, linked.Token));
            using var stream = await attach;
            await _client.Containers.StartContainerAsync(containerId, new ContainerStartParameters(), linked.Token);
            var output = AttemptEnd.PumpOutputAsync(stream, log);
            _ = AttemptEnd.FeedStdinAsync(stream, request.Payload);
            return await _end.AwaitAsync(containerId, request, files, log, output, stoppedBy, linked.Token);
        }
        catch (OperationCanceledException) when (linked.IsCancellationRequested)
        {
            return ContainerExits.Classify(AttemptEnd.Ending(request, stoppedBy()));
        }
        catch (DockerApiException ex)
        {
            return new ContainerExit { Status = TaskRunStatus.Failed, Error = $"Docker refused the container: {DockerErrors.Message(ex)}" };
        }
    }

    /// <summary>
    /// Creates the attempt's container. Not cancellable on purpose: the engine finishes a create whose caller gave up,
    /// and the container would stay behind with an id nobody learnt. The caller checks for cancellation right after.
    /// When the engine gives no answer at all, the attempt's containers are looked for by their labels and removed.
    /// </summary>
    private async Task<string> CreateAsync(ContainerRunRequest request, ITaskFolder files)
    {
        try
        {
            return await CreateContainerAsync(request, files);
        }
        catch (Exception ex) when (ex is not DockerApiException)
        {
            await RemoveAttemptAsync(request);
            throw;
        }
    }

    /// <summary>Containers, in any state, carrying every one of <paramref name="labels"/> (<c>key=value</c>).</summary>
    private Task<IList<ContainerListResponse>> ListLabelledAsync(CancellationToken cancellationToken, params string[] labels) =>
        _client.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = labels.ToDictionary(l => l, _ => true) },
        }, cancellationToken);

    /// <summary>Pre-started containers that took task <paramref name="taskId"/> (<see cref="SpareContainers"/> renames them after it).</summary>
    private async Task<IEnumerable<ContainerListResponse>> SparesRunningAsync(string taskId, CancellationToken cancellationToken) =>
        (await _client.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>>
            {
                ["label"] = new Dictionary<string, bool> { [SpareContainers.SpareLabel] = true },
                ["name"] = new Dictionary<string, bool> { [SpareContainers.NameOf(taskId, attempt: null)] = true },
            },
        }, cancellationToken)).Where(c => c.Names.Any(n => n.StartsWith("/" + SpareContainers.NameOf(taskId, attempt: null), StringComparison.Ordinal)));

    private async Task RemoveAttemptAsync(ContainerRunRequest request)
    {
        try
        {
            var containers = await ListLabelledAsync(
                CancellationToken.None,
                $"{ContainerRunRequest.TaskLabel}={request.TaskId}",
                $"{AttemptLabel}={request.Attempt.ToString(System.Globalization.CultureInfo.InvariantCulture)}");
            foreach (var container in containers)
            {
                await _end.RemoveAsync(container.ID);
            }
        }
        catch (Exception ex) when (ex is DockerApiException or HttpRequestException or IOException)
        {
            LogListFailed(_logger, request.TaskId, request.Attempt, ex.Message);
        }
    }

    private async Task<string> CreateContainerAsync(ContainerRunRequest request, ITaskFolder files)
    {
        var labels = new Dictionary<string, string>
        {
            [ContainerRunRequest.TaskLabel] = request.TaskId,
            ["stevedore.job"] = request.Job,
            [ContainerRunRequest.NodeLabel] = request.Node,
            [AttemptLabel] = request.Attempt.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        var parameters = ContainerHardening.Parameters(request.Spec, _options, request.Environment().ToList(), labels, stdinOnce: true);
        files.Configure(parameters);
        return (await _client.Containers.CreateContainerAsync(parameters, CancellationToken.None)).ID;
    }

    public async ValueTask DisposeAsync()
    {
        if (_spares is not null)
        {
            await _spares.DisposeAsync();
        }

        _client.Dispose();
    }

    /// <summary>For a container that disposes synchronously: removes the spares, for 20 s at most.</summary>
    public void Dispose() => DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(20));

    [LoggerMessage(Level = LogLevel.Warning, Message = "Task files are copied through the engine API: this host cannot use bind-mounted task folders ({Reason}).")]
    private static partial void LogBindUnavailable(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "The containers of task {TaskId} attempt {Attempt} could not be looked for: {Reason}")]
    private static partial void LogListFailed(ILogger logger, string taskId, int attempt, string reason);
}

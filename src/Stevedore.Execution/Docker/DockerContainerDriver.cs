using Docker.DotNet;
using Docker.DotNet.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Stevedore.Execution.Docker.TaskFiles;
using Stevedore.Storage;

namespace Stevedore.Execution.Docker;

/// <summary>
/// Runs each attempt as a fresh container through the Docker Engine API: create (pulling the image when the engine
/// lacks it), attach, start, wait, and always remove. Task files go through <see cref="ITaskFiles"/>; how the
/// container ended is judged by <see cref="ContainerExits"/>.
/// </summary>
public sealed partial class DockerContainerDriver : IContainerDriver, IDisposable
{
    private const string AttemptLabel = "stevedore.attempt";

    private readonly DockerClient _client;
    private readonly DockerOptions _options;
    private readonly ILogger<DockerContainerDriver> _logger;
    private readonly ImagePuller _images;
    private readonly ITaskFiles _taskFiles;

    public DockerContainerDriver(IOptions<DockerOptions> options, ILogger<DockerContainerDriver> logger)
    {
        _options = options.Value;
        _logger = logger;
        _client = new DockerClientConfiguration(new Uri(_options.Endpoint)).CreateClient();
        _images = new ImagePuller(_client, logger);
        _taskFiles = ChooseTaskFiles(_options, _client, logger);
    }

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
        foreach (var container in containers)
        {
            await RemoveAsync(container.ID);
        }

        if (label == ContainerRunRequest.NodeLabel)
        {
            _taskFiles.RemoveLeftovers(value);
        }

        return containers.Count;
    }

    public async Task<int> RemoveLeftoversAsync(string node, IReadOnlySet<string> keepTasks, CancellationToken cancellationToken)
    {
        var removed = 0;
        foreach (var container in await ListLabelledAsync(cancellationToken, $"{ContainerRunRequest.NodeLabel}={node}"))
        {
            if (container.Labels.TryGetValue(ContainerRunRequest.TaskLabel, out var task) && keepTasks.Contains(task))
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
        }

        return removed;
    }

    public async Task<ContainerExit> RunAsync(ContainerRunRequest request, ITaskLogWriter log, CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(request.Timeout);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        // Disposed last: after the container that mounts it is gone.
        using var files = _taskFiles.Prepare(request);
        string? containerId = null;
        try
        {
            // Create first and pull only when the engine lacks the image: one round trip less on the usual path.
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

            linked.Token.ThrowIfCancellationRequested();
            return await RunCreatedAsync(containerId, request, files, log, StoppedBy(timeout, cancellationToken), linked.Token);
        }
        catch (OperationCanceledException) when (linked.IsCancellationRequested)
        {
            return ContainerExits.Classify(Ending(request, StoppedBy(timeout, cancellationToken)()));
        }
        catch (DockerApiException ex)
        {
            return new ContainerExit { Status = TaskRunStatus.Failed, Error = $"Docker refused the container: {DockerErrors.Message(ex)}" };
        }
        finally
        {
            if (containerId is not null)
            {
                await RemoveAsync(containerId);
            }
        }
    }

    /// <summary>Which of the two tokens ended the attempt; asked only once one of them fired.</summary>
    private static Func<StopCause> StoppedBy(CancellationTokenSource timeout, CancellationToken cancelled) =>
        () => timeout.IsCancellationRequested && !cancelled.IsCancellationRequested ? StopCause.Timeout : StopCause.Cancel;

    private static ContainerEnding Ending(ContainerRunRequest request, StopCause stoppedBy, long? exitCode = null) =>
        new() { StoppedBy = stoppedBy, ExitCode = exitCode, Timeout = request.Timeout, MemoryMb = request.Spec.MemoryMb };

    private async Task<ContainerExit> RunCreatedAsync(
        string id, ContainerRunRequest request, ITaskFolder files, ITaskLogWriter log, Func<StopCause> stoppedBy, CancellationToken linked)
    {
        // The payload file and the attach are independent: do both at once, then start.
        var attach = _client.Containers.AttachContainerAsync(
            id, tty: false, new ContainerAttachParameters { Stream = true, Stdin = true, Stdout = true, Stderr = true }, linked);
        await Task.WhenAll(attach, files.BeforeStartAsync(id, linked));
        using var stream = await attach;
        await _client.Containers.StartContainerAsync(id, new ContainerStartParameters(), linked);
        var output = PumpOutputAsync(stream, log);
        _ = FeedStdinAsync(stream, request.Payload);

        var stopped = StopCause.None;
        long exitCode;
        try
        {
            exitCode = (await _client.Containers.WaitContainerAsync(id, linked)).StatusCode;
        }
        catch (OperationCanceledException) when (linked.IsCancellationRequested)
        {
            stopped = stoppedBy();
            await KillAsync(id);
            exitCode = (await _client.Containers.WaitContainerAsync(id, CancellationToken.None)).StatusCode;
        }

        await output;
        if (stopped != StopCause.None)
        {
            return ContainerExits.Classify(Ending(request, stopped, exitCode));
        }

        var result = await files.ReadResultAsync(id, log);
        var ending = Ending(request, stopped, exitCode) with
        {
            OomKilled = ContainerExits.MayBeOomKill(exitCode, stopped) && await WasOomKilledAsync(id),
            TaskFolderFullAt = files.FullAt(),
        };
        return ContainerExits.Classify(ending) with { Result = result };
    }

    /// <summary>
    /// Whether the kernel's OOM killer ended the container. The engine sets State.OOMKilled only when it handled the
    /// OOM event before the exit; when the event comes after (common on a busy machine) the flag stays false for good,
    /// but the engine's event log still has the "oom" event: read it, for 3 s at most. Only a SIGKILL nobody here
    /// sent pays that wait.
    /// </summary>
    private async Task<bool> WasOomKilledAsync(string id)
    {
        var container = await _client.Containers.InspectContainerAsync(id, CancellationToken.None);
        if (container.State.OOMKilled)
        {
            return true;
        }

        using var found = new CancellationTokenSource(TimeSpan.FromSeconds(3));
        var oom = false;
        try
        {
            await _client.System.MonitorEventsAsync(new ContainerEventsParameters
            {
                Since = (new DateTimeOffset(container.Created).ToUnixTimeSeconds() - 1).ToString(System.Globalization.CultureInfo.InvariantCulture),
                Filters = new Dictionary<string, IDictionary<string, bool>>
                {
                    ["container"] = new Dictionary<string, bool> { [id] = true },
                    ["event"] = new Dictionary<string, bool> { ["oom"] = true },
                },
            }, new OomSeen(() =>
            {
                oom = true;
                found.Cancel();
            }), found.Token);
        }
        catch (Exception ex) when (found.IsCancellationRequested && ex is OperationCanceledException or IOException or HttpRequestException)
        {
            // Stopped: the event came, or 3 s passed.
        }

        return oom;
    }

    private sealed class OomSeen(Action seen) : IProgress<Message>
    {
        public void Report(Message value) => seen();
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
                await RemoveAsync(container.ID);
            }
        }
        catch (Exception ex) when (ex is DockerApiException or HttpRequestException or IOException)
        {
            LogRemoveFailed(_logger, $"of task {request.TaskId} attempt {request.Attempt}", ex.Message);
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

    /// <summary>Moves an attached container's output to <paramref name="log"/> until the engine ends the stream.</summary>
    internal static async Task PumpOutputAsync(MultiplexedStream stream, ITaskLogWriter log)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var read = await stream.ReadOutputAsync(buffer, 0, buffer.Length, CancellationToken.None);
                if (read.EOF)
                {
                    return;
                }

                log.Write(read.Target == MultiplexedStream.TargetStream.StandardError ? LogStream.Stderr : LogStream.Stdout, buffer.AsSpan(0, read.Count));
            }
        }
        catch (IOException)
        {
            // The engine closed the attach connection: the container is gone.
        }
    }

    private static async Task FeedStdinAsync(MultiplexedStream stream, ReadOnlyMemory<byte> payload)
    {
        try
        {
            if (!payload.IsEmpty)
            {
                var bytes = payload.ToArray();
                await stream.WriteAsync(bytes, 0, bytes.Length, CancellationToken.None);
            }

            stream.CloseWrite();
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or NotSupportedException)
        {
            // The job exited without reading all of its standard input; that is its right.
        }
    }

    private async Task KillAsync(string id)
    {
        try
        {
            await _client.Containers.KillContainerAsync(id, new ContainerKillParameters { Signal = "KILL" }, CancellationToken.None);
        }
        catch (DockerApiException ex)
        {
            // Already stopped between the timeout and the kill.
            LogKillFailed(_logger, id, DockerErrors.Message(ex));
        }
    }

    private async Task RemoveAsync(string id)
    {
        try
        {
            await _client.Containers.RemoveContainerAsync(id, new ContainerRemoveParameters { Force = true, RemoveVolumes = true }, CancellationToken.None);
        }
        catch (Exception ex) when (ex is DockerApiException or HttpRequestException or IOException)
        {
            LogRemoveFailed(_logger, id, ex.Message);
        }
    }

    public void Dispose() => _client.Dispose();

    [LoggerMessage(Level = LogLevel.Warning, Message = "Task files are copied through the engine API: this host cannot use bind-mounted task folders ({Reason}).")]
    private static partial void LogBindUnavailable(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Kill of container {ContainerId} failed: {Reason}")]
    private static partial void LogKillFailed(ILogger logger, string containerId, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Container {ContainerId} could not be removed: {Reason}")]
    private static partial void LogRemoveFailed(ILogger logger, string containerId, string reason);
}

using System.Collections.Concurrent;
using System.Formats.Tar;
using Docker.DotNet;
using Docker.DotNet.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Stevedore.Storage;

namespace Stevedore.Execution.Docker;

/// <summary>Runs each attempt as a fresh container through the Docker Engine API.</summary>
public sealed partial class DockerContainerDriver : IContainerDriver, IDisposable
{
    private const long KilledExitCode = 137;

    private readonly DockerClient _client;
    private readonly DockerOptions _options;
    private readonly ILogger<DockerContainerDriver> _logger;
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _pulls = new(StringComparer.Ordinal);

    public DockerContainerDriver(IOptions<DockerOptions> options, ILogger<DockerContainerDriver> logger)
    {
        _options = options.Value;
        _logger = logger;
        _client = new DockerClientConfiguration(new Uri(_options.Endpoint)).CreateClient();
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
        var containers = await _client.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [$"{label}={value}"] = true } },
        }, cancellationToken);
        foreach (var container in containers)
        {
            await RemoveAsync(container.ID);
        }

        return containers.Count;
    }

    public async Task<ContainerExit> RunAsync(ContainerRunRequest request, ITaskLogWriter log, CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(request.Timeout);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        string? containerId = null;
        try
        {
            // Create first and pull only when the engine lacks the image: one round trip less on the usual path.
            try
            {
                containerId = await CreateAsync(request, linked.Token);
            }
            catch (DockerApiException ex) when (ex.StatusCode == System.Net.HttpStatusCode.NotFound)
            {
                if (await EnsureImageAsync(request.Spec.Image, linked.Token) is { } pullError)
                {
                    return new ContainerExit { Status = TaskRunStatus.Failed, Error = pullError };
                }

                containerId = await CreateAsync(request, linked.Token);
            }

            return await RunCreatedAsync(containerId, request, log, timeout, linked.Token, cancellationToken);
        }
        catch (OperationCanceledException) when (linked.IsCancellationRequested)
        {
            return timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested
                ? new ContainerExit { Status = TaskRunStatus.TimedOut, Error = $"timed out after {request.Timeout.TotalSeconds:0.###} s" }
                : new ContainerExit { Status = TaskRunStatus.Cancelled, Error = "cancelled" };
        }
        catch (DockerApiException ex)
        {
            return new ContainerExit { Status = TaskRunStatus.Failed, Error = $"Docker refused the container: {DockerMessage(ex)}" };
        }
        finally
        {
            if (containerId is not null)
            {
                await RemoveAsync(containerId);
            }

            DeleteTaskFiles(request);
        }
    }

    private async Task<ContainerExit> RunCreatedAsync(
        string id, ContainerRunRequest request, ITaskLogWriter log, CancellationTokenSource timeout, CancellationToken linked, CancellationToken cancelled)
    {
        // The payload file and the attach are independent: do both at once, then start.
        var attach = _client.Containers.AttachContainerAsync(
            id, tty: false, new ContainerAttachParameters { Stream = true, Stdin = true, Stdout = true, Stderr = true }, linked);
        await Task.WhenAll(attach, _options.BindTaskFiles ? Task.CompletedTask : PutPayloadAsync(id, request.Payload, linked));
        using var stream = await attach;
        await _client.Containers.StartContainerAsync(id, new ContainerStartParameters(), linked);
        var output = PumpOutputAsync(stream, log);
        _ = FeedStdinAsync(stream, request.Payload);

        var ended = TaskRunStatus.Succeeded;
        long exitCode;
        try
        {
            exitCode = (await _client.Containers.WaitContainerAsync(id, linked)).StatusCode;
        }
        catch (OperationCanceledException) when (linked.IsCancellationRequested)
        {
            ended = timeout.IsCancellationRequested && !cancelled.IsCancellationRequested ? TaskRunStatus.TimedOut : TaskRunStatus.Cancelled;
            await KillAsync(id);
            exitCode = (await _client.Containers.WaitContainerAsync(id, CancellationToken.None)).StatusCode;
        }

        await output;
        if (ended == TaskRunStatus.TimedOut)
        {
            return new ContainerExit { Status = ended, ExitCode = exitCode, Error = $"timed out after {request.Timeout.TotalSeconds:0.###} s; killed" };
        }

        if (ended == TaskRunStatus.Cancelled)
        {
            return new ContainerExit { Status = ended, ExitCode = exitCode, Error = "cancelled; container killed" };
        }

        var result = _options.BindTaskFiles ? ReadBoundResult(request, log) : await ReadResultAsync(id, log);
        // Only a SIGKILL we did not send can be the OOM killer; ask the engine only then.
        var oomKilled = exitCode == KilledExitCode && await WasOomKilledAsync(id);
        if (oomKilled)
        {
            return new ContainerExit
            {
                Status = TaskRunStatus.Failed,
                ExitCode = exitCode,
                Error = $"out of memory: the container was killed at its {request.Spec.MemoryMb} MiB memory limit",
                Result = result,
            };
        }

        if (exitCode == KilledExitCode)
        {
            return new ContainerExit
            {
                Status = TaskRunStatus.Failed,
                ExitCode = exitCode,
                Error = $"killed by SIGKILL (exit code 137), not by Stevedore: most likely out of memory at its {request.Spec.MemoryMb} MiB memory limit",
                Result = result,
            };
        }

        return exitCode == 0
            ? new ContainerExit { Status = TaskRunStatus.Succeeded, ExitCode = 0, Result = result }
            : new ContainerExit { Status = TaskRunStatus.Failed, ExitCode = exitCode, Error = $"exited with code {exitCode}", Result = result };
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

    private async Task<string?> EnsureImageAsync(string image, CancellationToken cancellationToken)
    {
        if (await HasImageAsync(image, cancellationToken))
        {
            return null;
        }

        var gate = _pulls.GetOrAdd(image, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken);
        try
        {
            if (await HasImageAsync(image, cancellationToken))
            {
                return null;
            }

            var reference = ImageReference.Parse(image);
            string? error = null;
            try
            {
                await _client.Images.CreateImageAsync(
                    new ImagesCreateParameters { FromImage = reference.Repository, Tag = reference.Tag },
                    authConfig: null,
                    new Progress<JSONMessage>(m => error ??= m.Error?.Message ?? (string.IsNullOrEmpty(m.ErrorMessage) ? null : m.ErrorMessage)),
                    cancellationToken);
            }
            catch (DockerApiException ex)
            {
                error = DockerMessage(ex);
            }

            if (await HasImageAsync(image, cancellationToken))
            {
                LogPulled(_logger, image);
                return null;
            }

            return $"image '{image}' could not be pulled: {error ?? "the registry did not provide it"}";
        }
        finally
        {
            gate.Release();
        }
    }

    private async Task<bool> HasImageAsync(string image, CancellationToken cancellationToken)
    {
        try
        {
            await _client.Images.InspectImageAsync(image, cancellationToken);
            return true;
        }
        catch (DockerImageNotFoundException)
        {
            return false;
        }
    }

    private string TaskFolder(ContainerRunRequest request) =>
        Path.Combine(_options.TaskFilesPath, $"{request.TaskId}-{request.Attempt}");

    /// <summary>The folder mounted at /stevedore: the payload file, and room (world-writable) for the result file.</summary>
    private string WriteTaskFiles(ContainerRunRequest request)
    {
        var folder = TaskFolder(request);
        Directory.CreateDirectory(folder);
        var payload = Path.Combine(folder, "payload");
        File.WriteAllBytes(payload, request.Payload.ToArray());
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(folder, (UnixFileMode)0x1FF);
            File.SetUnixFileMode(payload, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        }

        return folder;
    }

    private ReadOnlyMemory<byte>? ReadBoundResult(ContainerRunRequest request, ITaskLogWriter log)
    {
        var file = new FileInfo(Path.Combine(TaskFolder(request), "result"));
        if (!file.Exists || file.Attributes.HasFlag(FileAttributes.Directory))
        {
            return null;
        }

        // Typed: a null byte[] would become an empty result, not "no result".
        return TooLarge(file.Length, log) ? null : (ReadOnlyMemory<byte>?)File.ReadAllBytes(file.FullName);
    }

    /// <summary>A result file over the limit is not kept; the task's log says so.</summary>
    private bool TooLarge(long length, ITaskLogWriter log)
    {
        if (length <= _options.MaxResultBytes)
        {
            return false;
        }

        log.Write(LogStream.System, System.Text.Encoding.UTF8.GetBytes(
            $"[stevedore] result file of {length} bytes not kept: the limit is {_options.MaxResultBytes} bytes\n"));
        return true;
    }

    private void DeleteTaskFiles(ContainerRunRequest request)
    {
        if (!_options.BindTaskFiles)
        {
            return;
        }

        try
        {
            Directory.Delete(TaskFolder(request), recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            LogRemoveFailed(_logger, TaskFolder(request), ex.Message);
        }
    }

    private async Task<string> CreateAsync(ContainerRunRequest request, CancellationToken cancellationToken)
    {
        var spec = request.Spec;
        var binds = _options.BindTaskFiles ? new List<string> { $"{WriteTaskFiles(request)}:/stevedore" } : null;
        var memory = spec.MemoryMb * 1024L * 1024L;
        var created = await _client.Containers.CreateContainerAsync(new CreateContainerParameters
        {
            Image = spec.Image,
            Cmd = spec.Command?.ToList(),
            Env = request.Environment().ToList(),
            Labels = new Dictionary<string, string>
            {
                [ContainerRunRequest.TaskLabel] = request.TaskId,
                ["stevedore.job"] = request.Job,
                [ContainerRunRequest.NodeLabel] = request.Node,
                ["stevedore.attempt"] = request.Attempt.ToString(System.Globalization.CultureInfo.InvariantCulture),
            },
            AttachStdin = true,
            AttachStdout = true,
            AttachStderr = true,
            OpenStdin = true,
            StdinOnce = true,
            Tty = false,
            HostConfig = new HostConfig
            {
                Memory = memory,
                MemorySwap = memory,
                NanoCPUs = (long)Math.Round(spec.Cpus * 1_000_000_000),
                PidsLimit = _options.PidsLimit,
                SecurityOpt = ["no-new-privileges"],
                NetworkMode = spec.Network,
                Binds = binds,
            },
        }, cancellationToken);
        return created.ID;
    }

    private async Task PutPayloadAsync(string id, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        using var tar = new MemoryStream();
        await using (var writer = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
        {
            // World-writable, so a job running as any user can write its result file there.
            writer.WriteEntry(new PaxTarEntry(TarEntryType.Directory, "stevedore/")
            {
                Mode = (UnixFileMode)0x1FF,
                ModificationTime = DateTimeOffset.UtcNow,
            });
            writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "stevedore/payload")
            {
                Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
                ModificationTime = DateTimeOffset.UtcNow,
                DataStream = new MemoryStream(payload.ToArray()),
            });
        }

        tar.Position = 0;
        await _client.Containers.ExtractArchiveToContainerAsync(id, new ContainerPathStatParameters { Path = "/" }, tar, cancellationToken);
    }

    private static async Task PumpOutputAsync(MultiplexedStream stream, ITaskLogWriter log)
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

    private async Task<ReadOnlyMemory<byte>?> ReadResultAsync(string id, ITaskLogWriter log)
    {
        GetArchiveFromContainerResponse archive;
        try
        {
            archive = await _client.Containers.GetArchiveFromContainerAsync(
                id, new GetArchiveFromContainerParameters { Path = ContainerRunRequest.ResultPath }, statOnly: false, CancellationToken.None);
        }
        catch (DockerContainerNotFoundException)
        {
            return null;
        }
        catch (DockerApiException ex) when (ex.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return null;
        }

        await using var tarStream = archive.Stream;
        if (archive.Stat is { } stat && TooLarge(stat.Size, log))
        {
            return null;
        }

        // Parse the archive from memory: reading an entry straight off the engine's response stream fails past its
        // first block ("read past the end of the stream"). The file is within the cap, so the archive is small.
        using var whole = new MemoryStream();
        await tarStream.CopyToAsync(whole);
        whole.Position = 0;
        using var reader = new TarReader(whole);
        var entry = await reader.GetNextEntryAsync(copyData: false);
        if (entry?.DataStream is null || entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile))
        {
            return null;
        }

        if (TooLarge(entry.Length, log))
        {
            return null;
        }

        using var copy = new MemoryStream((int)entry.Length);
        await entry.DataStream.CopyToAsync(copy);
        return copy.ToArray();
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
            LogKillFailed(_logger, id, DockerMessage(ex));
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

    private static string DockerMessage(DockerApiException ex)
    {
        var body = ex.ResponseBody?.Trim();
        if (!string.IsNullOrEmpty(body))
        {
            try
            {
                using var json = System.Text.Json.JsonDocument.Parse(body);
                if (json.RootElement.TryGetProperty("message", out var message) && message.GetString() is { } text)
                {
                    return text;
                }
            }
            catch (System.Text.Json.JsonException)
            {
            }

            return body;
        }

        return ex.Message;
    }

    public void Dispose() => _client.Dispose();

    [LoggerMessage(Level = LogLevel.Information, Message = "Pulled image {Image}.")]
    private static partial void LogPulled(ILogger logger, string image);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Kill of container {ContainerId} failed: {Reason}")]
    private static partial void LogKillFailed(ILogger logger, string containerId, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Container {ContainerId} could not be removed: {Reason}")]
    private static partial void LogRemoveFailed(ILogger logger, string containerId, string reason);
}

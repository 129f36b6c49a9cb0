using System.Globalization;
using Docker.DotNet;
using Docker.DotNet.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Stevedore.Execution.Hot;
using Stevedore.Storage;

namespace Stevedore.Execution.Docker;

/// <summary>
/// Hot containers on the Docker Engine: created with the same limits and hardening as a cold container
/// (<see cref="ContainerHardening"/>), standard input kept open, attached once; the attach stream carries the
/// protocol both ways, so the container needs no socket, port or file of the host's. Stopping one removes it.
/// </summary>
public sealed partial class DockerHotContainers : IHotContainerDriver, IDisposable
{
    private readonly DockerClient _client;
    private readonly DockerOptions _options;
    private readonly ImagePuller _images;
    private readonly ILogger<DockerHotContainers> _logger;

    public DockerHotContainers(IOptions<DockerOptions> options, ILogger<DockerHotContainers> logger)
    {
        _options = options.Value;
        _logger = logger;
        _client = new DockerClientConfiguration(new Uri(_options.Endpoint)).CreateClient();
        _images = new ImagePuller(_client, logger);
    }

    public int MaxResponseBytes => _options.MaxResultBytes;

    public async Task<IHotContainer> StartAsync(HotContainerRequest request, IHotOutput output, CancellationToken cancellationToken)
    {
        string id;
        try
        {
            id = await CreateAsync(request);
        }
        catch (DockerApiException ex) when (ex.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            if (await _images.EnsureAsync(request.Spec.Image, cancellationToken) is { } pullError)
            {
                throw new HotStartException(pullError);
            }

            id = await CreateAsync(request);
        }
        catch (DockerApiException ex)
        {
            throw new HotStartException($"Docker refused the hot container: {DockerErrors.Message(ex)}", ex);
        }

        var container = new Container(this, id);
        try
        {
            container.Stream = await _client.Containers.AttachContainerAsync(
                id, tty: false, new ContainerAttachParameters { Stream = true, Stdin = true, Stdout = true, Stderr = true }, CancellationToken.None);
            await _client.Containers.StartContainerAsync(id, new ContainerStartParameters(), CancellationToken.None);
        }
        catch (Exception ex) when (ex is DockerApiException or IOException or HttpRequestException)
        {
            await container.DisposeAsync();
            throw new HotStartException($"Docker refused to start the hot container: {(ex is DockerApiException api ? DockerErrors.Message(api) : ex.Message)}", ex);
        }

        container.Pump = PumpAsync(container.Stream, id, output);
        return container;
    }

    /// <summary>Not cancellable, as a cold create: a create the client gave up on would leave a container nobody knows.</summary>
    private async Task<string> CreateAsync(HotContainerRequest request)
    {
        var labels = new Dictionary<string, string>
        {
            ["stevedore.job"] = request.Job,
            [ContainerRunRequest.NodeLabel] = request.Node,
            [HotContainerRequest.HotLabel] = request.JobVersion.ToString(CultureInfo.InvariantCulture),
        };
        var parameters = ContainerHardening.Parameters(request.Spec, _options, request.Environment().ToList(), labels, stdinOnce: false);
        return (await _client.Containers.CreateContainerAsync(parameters, CancellationToken.None)).ID;
    }

    /// <summary>Moves the container's output to its session until the stream ends, then reports the exit code.</summary>
    private async Task PumpAsync(MultiplexedStream stream, string id, IHotOutput output)
    {
        try
        {
            await AttemptEnd.PumpOutputAsync(stream, new OutputAsLog(output));
        }
        catch (ObjectDisposedException)
        {
            // Stopped by the pool: the stream was closed under the reader.
        }

        long? exitCode = null;
        try
        {
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            exitCode = (await _client.Containers.WaitContainerAsync(id, wait.Token)).StatusCode;
        }
        catch (Exception ex) when (ex is DockerApiException or IOException or HttpRequestException or OperationCanceledException)
        {
            // Removed meanwhile: no exit code to report.
        }

        output.Exited(exitCode);
    }

    private sealed class OutputAsLog(IHotOutput output) : ITaskLogWriter
    {
        public void Write(LogStream stream, ReadOnlySpan<byte> data)
        {
            if (stream == LogStream.Stderr)
            {
                output.Stderr(data);
            }
            else
            {
                output.Stdout(data);
            }
        }
    }

    private sealed class Container(DockerHotContainers owner, string id) : IHotContainer
    {
        private int _disposed;

        public MultiplexedStream? Stream { get; set; }

        public Task? Pump { get; set; }

        public async Task WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
        {
            var bytes = System.Runtime.InteropServices.MemoryMarshal.TryGetArray(data, out var segment) && segment.Array is not null
                ? segment
                : new ArraySegment<byte>(data.ToArray());
            await Stream!.WriteAsync(bytes.Array!, bytes.Offset, bytes.Count, cancellationToken);
        }

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 1)
            {
                return;
            }

            try
            {
                await owner._client.Containers.RemoveContainerAsync(id, new ContainerRemoveParameters { Force = true, RemoveVolumes = true }, CancellationToken.None);
            }
            catch (Exception ex) when (ex is DockerApiException or HttpRequestException or IOException)
            {
                LogRemoveFailed(owner._logger, id, ex.Message);
            }

            Stream?.Dispose();
            if (Pump is { } pump)
            {
                await pump;
            }
        }
    }

    public void Dispose() => _client.Dispose();

    [LoggerMessage(Level = LogLevel.Error, Message = "Hot container {ContainerId} could not be removed: {Reason}")]
    private static partial void LogRemoveFailed(ILogger logger, string containerId, string reason);
}

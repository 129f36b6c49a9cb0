using Docker.DotNet;
using Docker.DotNet.Models;
using Microsoft.Extensions.Logging;
using Stevedore.Execution.Docker.TaskFiles;
using Stevedore.Storage;

namespace Stevedore.Execution.Docker;

/// <summary>
/// The end of an attempt whose container runs, shared by a cold container and a spare: wait for it to exit (killing it
/// at the timeout or on cancel), let its output drain, and gather the facts <see cref="ContainerExits"/> judges — the
/// exit code, an OOM kill, a full task folder — and the result file.
/// </summary>
internal sealed partial class AttemptEnd(DockerClient client, ILogger logger)
{
    /// <summary>Which of the two tokens ended the attempt; asked only once one of them fired.</summary>
    public static Func<StopCause> StoppedBy(CancellationTokenSource timeout, CancellationToken cancelled) =>
        () => timeout.IsCancellationRequested && !cancelled.IsCancellationRequested ? StopCause.Timeout : StopCause.Cancel;

    public static ContainerEnding Ending(ContainerRunRequest request, StopCause stoppedBy, long? exitCode = null) =>
        new() { StoppedBy = stoppedBy, ExitCode = exitCode, Timeout = request.Timeout, MemoryMb = request.Spec.MemoryMb };

    public async Task<ContainerExit> AwaitAsync(
        string id, ContainerRunRequest request, ITaskFolder files, ITaskLogWriter log, Task output, Func<StopCause> stoppedBy, CancellationToken linked)
    {
        var stopped = StopCause.None;
        long exitCode;
        try
        {
            exitCode = (await client.Containers.WaitContainerAsync(id, linked)).StatusCode;
        }
        catch (OperationCanceledException) when (linked.IsCancellationRequested)
        {
            stopped = stoppedBy();
            await KillAsync(id);
            exitCode = (await client.Containers.WaitContainerAsync(id, CancellationToken.None)).StatusCode;
        }

        await output;
        if (stopped != StopCause.None)
        {
            return ContainerExits.Classify(Ending(request, stopped, exitCode));
        }

        var result = await files.ReadResultAsync(id, log);
        return ContainerExits.Classify(Ending(request, stopped, exitCode) with
        {
            OomKilled = ContainerExits.MayBeOomKill(exitCode, stopped) && await WasOomKilledAsync(id),
            TaskFolderFullAt = files.FullAt(),
        }) with { Result = result };
    }

    /// <summary>Moves an attached container's output to <paramref name="log"/> until the engine ends the stream.</summary>
    public static async Task PumpOutputAsync(MultiplexedStream stream, ITaskLogWriter log)
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

    /// <summary>Writes <paramref name="bytes"/> to the container's standard input and closes it; a job may exit without reading it all.</summary>
    public static async Task FeedStdinAsync(MultiplexedStream stream, ReadOnlyMemory<byte> bytes)
    {
        try
        {
            if (!bytes.IsEmpty)
            {
                var copy = bytes.ToArray();
                await stream.WriteAsync(copy, 0, copy.Length, CancellationToken.None);
            }

            stream.CloseWrite();
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or NotSupportedException)
        {
            // The job exited without reading all of its standard input; that is its right.
        }
    }

    public async Task KillAsync(string id)
    {
        try
        {
            await client.Containers.KillContainerAsync(id, new ContainerKillParameters { Signal = "KILL" }, CancellationToken.None);
        }
        catch (DockerApiException ex)
        {
            // Already stopped between the timeout and the kill.
            LogKillFailed(logger, id, DockerErrors.Message(ex));
        }
    }

    /// <summary>Removes a container, whatever its state; a failure is logged (the node's sweeps find it later).</summary>
    public async Task RemoveAsync(string id)
    {
        try
        {
            await client.Containers.RemoveContainerAsync(id, new ContainerRemoveParameters { Force = true, RemoveVolumes = true }, CancellationToken.None);
        }
        catch (DockerContainerNotFoundException)
        {
            // Gone already (a sweep of the node's leftovers took it).
        }
        catch (DockerApiException ex) when (ex.StatusCode == System.Net.HttpStatusCode.Conflict)
        {
            // Being removed already (by a sweep of the node's leftovers).
        }
        catch (Exception ex) when (ex is DockerApiException or HttpRequestException or IOException)
        {
            LogRemoveFailed(logger, id, ex.Message);
        }
    }

    /// <summary>
    /// Whether the kernel's OOM killer ended the container. The engine sets State.OOMKilled only when it handled the
    /// OOM event before the exit; when the event comes after (common on a busy machine) the flag stays false for good,
    /// but the engine's event log still has the "oom" event: read it, for 3 s at most. Only a SIGKILL nobody here
    /// sent pays that wait.
    /// </summary>
    private async Task<bool> WasOomKilledAsync(string id)
    {
        var container = await client.Containers.InspectContainerAsync(id, CancellationToken.None);
        if (container.State.OOMKilled)
        {
            return true;
        }

        using var found = new CancellationTokenSource(TimeSpan.FromSeconds(3));
        var oom = false;
        try
        {
            await client.System.MonitorEventsAsync(new ContainerEventsParameters
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

    [LoggerMessage(Level = LogLevel.Debug, Message = "Kill of container {ContainerId} failed: {Reason}")]
    private static partial void LogKillFailed(ILogger logger, string containerId, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Container {ContainerId} could not be removed: {Reason}")]
    private static partial void LogRemoveFailed(ILogger logger, string containerId, string reason);
}

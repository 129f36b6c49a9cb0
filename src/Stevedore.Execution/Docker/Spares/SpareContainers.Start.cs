using System.Globalization;
using Docker.DotNet;
using Docker.DotNet.Models;
using Microsoft.Extensions.Logging;
using Stevedore.Execution.Docker.TaskFiles;

namespace Stevedore.Execution.Docker.Spares;

/// <summary>Starting a spare, and watching it until a task takes it.</summary>
internal sealed partial class SpareContainers
{
    private static readonly TimeSpan s_startTimeout = TimeSpan.FromSeconds(60);

    private async Task StartOneAsync(ContainerRunRequest like, string definition, int generation)
    {
        // Bounds every engine call but the create (a create given up on would leave a container nobody knows; the
        // node's sweeps find it by its labels): a start that hangs must not keep the version from ever having spares.
        using var timeout = new CancellationTokenSource(s_startTimeout);
        ISpareFolder? folder = null;
        List<KeyValuePair<string, string?>> shell = [];
        string? id = null;
        MultiplexedStream? stream = null;
        try
        {
            var image = await _client.Images.InspectImageAsync(like.Spec.Image, timeout.Token);
            var argv = SpareShim.Argv(image.Config?.Entrypoint, image.Config?.Cmd, like.Spec.Command);
            if (argv.Count == 0)
            {
                throw new InvalidOperationException($"image {like.Spec.Image} gives no command to run");
            }

            if (!OperatingSystem.IsLinux())
            {
                throw new PlatformNotSupportedException("spares need bind-mounted task folders, which need Linux");
            }

            folder = _files.PrepareSpare(like.Node, _shim);
            var labels = new Dictionary<string, string>
            {
                ["stevedore.job"] = like.Job,
                [ContainerRunRequest.NodeLabel] = like.Node,
                [SpareLabel] = like.JobVersion.ToString(CultureInfo.InvariantCulture),
            };
            // Created with what every task of the version sees; the task's own variables come with the task.
            var env = like.VersionEnvironment().ToList();
            shell = SpareShim.ShellVariables([.. image.Config?.Env ?? [], .. env]);
            var parameters = ContainerHardening.Parameters(like.Spec, _options, env, labels, stdinOnce: true);
            parameters.Name = UnusedNamePrefix + Guid.NewGuid().ToString("N");
            parameters.Entrypoint = SpareShim.Entrypoint;
            parameters.Cmd = argv;
            folder.Configure(parameters);
            id = (await _client.Containers.CreateContainerAsync(parameters, CancellationToken.None)).ID;
            stream = await _client.Containers.AttachContainerAsync(
                id, tty: false, new ContainerAttachParameters { Stream = true, Stdin = true, Stdout = true, Stderr = true }, timeout.Token);
            await _client.Containers.StartContainerAsync(id, new ContainerStartParameters(), timeout.Token);
        }
        catch (Exception ex)
        {
            // Whatever went wrong (the engine, the image, the folder), the version runs cold for a while: nothing is
            // lost. An image not there yet (the first task is pulling it) is tried again at the next task.
            var pulling = ex is DockerImageNotFoundException || (ex is DockerApiException { StatusCode: System.Net.HttpStatusCode.NotFound } && id is null);
            if (!pulling)
            {
                LogStartFailed(_logger, ex, like.Job, like.JobVersion);
            }

            lock (_gate)
            {
                _pool.StartFailed(like.Job, like.JobVersion, definition, generation, _time.GetUtcNow(), backOff: !pulling);
            }

            stream?.Dispose();
            if (id is not null)
            {
                await _end.RemoveAsync(id);
            }

            folder?.Dispose();
            return;
        }

        var spare = new Spare(id, folder, stream, like.Job, shell);
        spare.Pump = PumpAsync(spare);
        bool kept;
        lock (_gate)
        {
            if (_disposed || spare.Ended)
            {
                // Ended already: the shim could not run, or found no command the kernel would run (tasks start cold
                // and get the engine's own error).
                _pool.StartFailed(like.Job, like.JobVersion, definition, generation, _time.GetUtcNow());
                kept = false;
            }
            else
            {
                kept = _pool.Started(like.Job, like.JobVersion, definition, generation, spare);
            }
        }

        if (!kept)
        {
            await DiscardAsync(spare);
        }
    }

    /// <summary>The spare's output goes to its task once it has one; a spare that ends before that is forgotten and removed.</summary>
    private async Task PumpAsync(Spare spare)
    {
        try
        {
            await AttemptEnd.PumpOutputAsync(spare.Stream, spare.Output);
        }
        catch (ObjectDisposedException)
        {
            // Removed by the pool: the stream was closed under the reader.
        }

        bool forgotten;
        lock (_gate)
        {
            spare.Ended = true;
            forgotten = !spare.Taken && _pool.Forget(spare.Job, spare);
        }

        if (forgotten)
        {
            await DiscardAsync(spare);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "A pre-started container for job {Job} version {Version} could not be started; that version runs cold for 30 s.")]
    private static partial void LogStartFailed(ILogger logger, Exception ex, string job, long version);
}

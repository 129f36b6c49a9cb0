using Docker.DotNet;
using Docker.DotNet.Models;

namespace Stevedore.Benchmarks;

/// <summary>
/// What <c>docker run --rm IMAGE CMD</c> asks of the engine, through the Engine API from this process (Docker.DotNet,
/// as Stevedore's driver does) instead of a CLI process: create → attach → start → read the output → wait → remove.
/// The baseline without the CLI's own process start.
/// </summary>
public sealed class EngineBaseline : IDisposable
{
    private readonly DockerClient _client = new DockerClientConfiguration(new Uri("unix:///var/run/docker.sock")).CreateClient();

    public async Task<string> VersionAsync() => (await _client.System.GetVersionAsync()).Version;

    public async Task RunAsync(string image, IList<string> command, string expectedOutput)
    {
        var created = await _client.Containers.CreateContainerAsync(new CreateContainerParameters
        {
            Image = image,
            Cmd = command,
            AttachStdout = true,
            AttachStderr = true,
            Labels = new Dictionary<string, string> { ["stevedore.bench"] = "engine-baseline" },
        });
        try
        {
            using var stream = await _client.Containers.AttachContainerAsync(
                created.ID, tty: false, new ContainerAttachParameters { Stream = true, Stdout = true, Stderr = true });
            await _client.Containers.StartContainerAsync(created.ID, new ContainerStartParameters());
            var (stdout, stderr) = await stream.ReadOutputToEndAsync(CancellationToken.None);
            var exit = await _client.Containers.WaitContainerAsync(created.ID);
            if (exit.StatusCode != 0 || stdout != expectedOutput)
            {
                throw new InvalidOperationException($"engine baseline container exited {exit.StatusCode} with output '{stdout}' '{stderr}'");
            }
        }
        finally
        {
            await _client.Containers.RemoveContainerAsync(created.ID, new ContainerRemoveParameters { Force = true });
        }
    }

    public void Dispose() => _client.Dispose();
}

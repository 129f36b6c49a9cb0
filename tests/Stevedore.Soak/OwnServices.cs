using System.Globalization;
using Docker.DotNet;
using Docker.DotNet.Models;
using Stevedore.Testing;

namespace Stevedore.Soak;

/// <summary>
/// A Docker Engine of the soak's own (scripts/lib.sh <c>docker_instance</c>), which it may kill and start again: the
/// shared engine is never touched. Its socket, data and exec root live in <see cref="Folder"/>.
/// </summary>
public sealed class OwnEngine(string folder)
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromMinutes(2);

    public string Folder { get; } = folder;

    public string Endpoint => $"unix://{Folder}/docker.sock";

    /// <summary>Starts the engine and copies the jobs' image into it from the shared engine.</summary>
    public async Task StartAsync(string image)
    {
        await StartAgainAsync();
        await Shell.RunAsync($"docker_instance_image '{Folder}' '{image}'", s_timeout);
    }

    public Task StartAgainAsync() => Shell.RunAsync($"docker_instance start '{Folder}'", s_timeout);

    /// <summary>kill -9 of the daemon (and its containerd, which dies with it).</summary>
    public Task KillAsync() => Shell.RunAsync($"docker_instance kill '{Folder}'", s_timeout);

    public Task DestroyAsync() => Shell.RunAsync($"docker_instance destroy '{Folder}'", s_timeout);

    /// <summary>
    /// The containers that ran a task, stopped ones too: those carrying the label <c>stevedore.task</c>, and the
    /// pre-started ones a task took (renamed after it; those no task took ran nothing and are left out).
    /// </summary>
    public async Task<IList<ContainerListResponse>> TaskContainersAsync()
    {
        using var docker = new DockerClientConfiguration(new Uri(Endpoint)).CreateClient();
        var labelled = await ListAsync(docker, "stevedore.task");
        var spares = await ListAsync(docker, "stevedore.spare");
        return [.. labelled, .. spares.Where(c => !Containers.IsUnusedSpare(c))];
    }

    private static Task<IList<ContainerListResponse>> ListAsync(DockerClient docker, string label) =>
        docker.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [label] = true } },
        });
}

/// <summary>A PostgreSQL server of the soak's own (scripts/lib.sh <c>pg_instance</c>) on a free port, which it restarts.</summary>
public sealed class OwnPostgres(int port)
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromMinutes(2);

    public int Port { get; } = port;

    /// <summary>The server's own <c>postgres</c> database: the soak has the server to itself.</summary>
    public string ConnectionString => $"Host=127.0.0.1;Port={Port.ToString(CultureInfo.InvariantCulture)};Username=postgres;Database=postgres";

    public Task StartAsync() => Run("start");

    /// <summary><c>pg_ctl stop -m fast</c>: every session is ended (57P01), as in a restart.</summary>
    public Task StopAsync() => Run("stop");

    public Task DestroyAsync() => Run("destroy");

    private Task Run(string action) => Shell.RunAsync($"pg_instance {action} {Port.ToString(CultureInfo.InvariantCulture)}", s_timeout);
}

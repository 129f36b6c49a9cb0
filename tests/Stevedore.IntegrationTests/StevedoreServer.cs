using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Docker.DotNet;
using Docker.DotNet.Models;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Stevedore.Client;
using Stevedore.Host.Hosting;

namespace Stevedore.IntegrationTests;

/// <summary>
/// A real Stevedore host (Kestrel on a free loopback port, a silo on free ports, the Docker driver) and an HTTP
/// client for it. Tests talk to it only over HTTP. Its worker node has a name of its own, so on dispose — pass or
/// fail — it removes every container the node left.
/// </summary>
public class StevedoreServer : IAsyncLifetime
{
    public const string Image = "stevedore/busybox:latest";

    private WebApplication? _app;
    private HttpClient? _http;

    protected virtual IDictionary<string, string?> Settings => new Dictionary<string, string?>();

    /// <summary>The worker node's name; every container it starts carries it as label <c>stevedore.node</c>.</summary>
    public string Node { get; } = Names.Node();

    public HttpClient Http => _http ?? throw new InvalidOperationException("The server did not start.");

    /// <summary>The host's gRPC endpoint (HTTP/2 cleartext).</summary>
    public Uri GrpcAddress { get; private set; } = null!;
    public IServiceProvider Services => (_app ?? throw new InvalidOperationException("The server did not start.")).Services;

    /// <summary>Extra composition for a test host (e.g. a logger that records what the host logs, a trace exporter a test reads).</summary>
    protected virtual void Configure(WebApplicationBuilder builder)
    {
    }

    /// <summary>Runs before the host is built (e.g. to create a database its settings name).</summary>
    protected virtual Task PrepareAsync() => Task.CompletedTask;

    protected virtual Task CleanupAsync() => Task.CompletedTask;

    public DockerClient Docker { get; } = Containers.Connect();

    public async Task InitializeAsync()
    {
        try
        {
            await Scripts.RunAsync("ensure_docker && ensure_busybox_image " + Image);
            await PrepareAsync();
            _app = await Names.StartOnFreePortsAsync(StartHostAsync, StopHostAsync);

            var address = _app.Urls.First(u => new Uri(u).Port != GrpcAddress.Port);
            // A request that says 'Expect: 100-continue' holds its body until the server answers, however busy the
            // machine: a refusal of the headers alone (413 on Content-Length) then never races the body being sent.
            var handler = new SocketsHttpHandler { Expect100ContinueTimeout = TimeSpan.FromSeconds(60) };
            _http = new HttpClient(handler) { BaseAddress = new Uri(address), Timeout = TimeSpan.FromSeconds(90) };
        }
        catch (Exception startFailure)
        {
            // Clean up what did start (host, containers, database), and report why the start failed, not a cleanup error.
            try
            {
                await DisposeAsync();
            }
            catch (Exception cleanupFailure)
            {
                throw new AggregateException("The test server did not start, and cleaning up after it failed too.", startFailure, cleanupFailure);
            }

            throw;
        }
    }

    private async Task<WebApplication> StartHostAsync()
    {
        GrpcAddress = new Uri($"http://127.0.0.1:{Names.FreePort()}");
        var settings = new Dictionary<string, string?>
        {
            ["Kestrel:Endpoints:Http:Url"] = "http://127.0.0.1:0",
            ["Kestrel:Endpoints:Grpc:Url"] = GrpcAddress.ToString(),
            ["Orleans:ClusterId"] = Names.Unique("it"),
            ["Orleans:SiloPort"] = Names.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Orleans:GatewayPort"] = Names.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Stevedore:Worker:Slots"] = "4",
            ["Stevedore:Worker:Node"] = Node,
            ["Logging:LogLevel:Default"] = "Warning",
        };
        foreach (var (key, value) in Settings)
        {
            settings[key] = value;
        }

        _app = await StevedoreHost.BuildAsync([], b =>
        {
            b.Configuration.AddInMemoryCollection(settings);
            Configure(b);
        });
        await _app.StartAsync();
        return _app;
    }

    private Task StopHostAsync() => Cleanup.StopAsync(Interlocked.Exchange(ref _app, null));

    /// <summary>Each step runs even when one before it failed (or the start never finished).</summary>
    public Task DisposeAsync() => Cleanup.AllAsync(
        "the test server",
        () => { _http?.Dispose(); return Task.CompletedTask; },
        StopHostAsync,
        () => Containers.SweepAsync(Containers.NodeLabel, Node),
        () => { Docker.Dispose(); return Task.CompletedTask; },
        CleanupAsync);

    /// <summary>A gRPC channel to the host; the caller disposes it.</summary>
    public GrpcChannel NewChannel() => GrpcChannel.ForAddress(GrpcAddress);

    /// <summary>The .NET client library on the host's gRPC endpoint; the caller disposes it.</summary>
    public StevedoreClient NewClient(string? token = null) => new(new StevedoreClientOptions { Address = GrpcAddress, Token = token });

    public async Task<JsonElement> PutJobAsync(string name, object body)
    {
        var response = await Http.PutAsJsonAsync($"/v1/jobs/{name}", body);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    public async Task<string> EnqueueAsync(string job, object? body = null)
    {
        var response = await Http.PostAsJsonAsync($"/v1/jobs/{job}/tasks", body ?? new { });
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
    }

    public async Task<JsonElement> GetTaskAsync(string id) =>
        await Http.GetFromJsonAsync<JsonElement>($"/v1/tasks/{id}");

    /// <summary>Waits until the task has ended, following its log (the server holds the call open until then).</summary>
    public Task<JsonElement> WaitForEndAsync(string id, int seconds = 60) =>
        Wait.UntilAsync(async () =>
        {
            using (var follow = await Http.GetAsync($"/v1/tasks/{id}/log?follow=true", HttpCompletionOption.ResponseHeadersRead))
            {
                await follow.Content.ReadAsStringAsync();
            }

            return await GetTaskAsync(id);
        }, TaskJson.HasEnded, $"task {id} to end", TimeSpan.FromSeconds(seconds), t => t.ToString());

    /// <summary>Waits until <c>/healthz</c> says 200 (one check may fail on a busy machine: it allows itself 3 s).</summary>
    public Task WaitHealthyAsync() => TaskJson.WaitHealthyAsync(Http, "the test server");

    /// <summary>Follows the task's log until its first line: returns once the container runs and has written it.</summary>
    public async Task<string?> FirstLogLineAsync(string id)
    {
        using var follow = await Http.GetAsync($"/v1/tasks/{id}/log?follow=true", HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await follow.Content.ReadAsStreamAsync());
        return await reader.ReadLineAsync();
    }

    /// <summary>The containers that ran task <paramref name="taskId"/> (a cold one by its label, a pre-started one by its name).</summary>
    public Task<IList<ContainerListResponse>> ContainersOfAsync(string taskId) => Containers.OfTaskAsync(taskId);
}

[CollectionDefinition(Name)]
public sealed class ServerCollection : ICollectionFixture<StevedoreServer>
{
    public const string Name = "server";
}

/// <summary>Reading tasks and health the same way from every host a test talks to.</summary>
public static class TaskJson
{
    public static bool HasEnded(JsonElement task) =>
        task.GetProperty("status").GetString() is "succeeded" or "failed" or "timed_out" or "cancelled";

    public static string Status(JsonElement task) => task.GetProperty("status").GetString()!;

    public static async Task WaitHealthyAsync(HttpClient http, string who) =>
        await Wait.UntilAsync(async () =>
        {
            try
            {
                using var response = await http.GetAsync("/healthz");
                return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
            }
            catch (HttpRequestException ex)
            {
                return (0, ex.Message);
            }
        }, r => r.Item1 == 200, $"{who} to say it is healthy", describe: r => $"{r.Item1}: {r.Item2}");
}

/// <summary>Runs the repository's service helpers (scripts/lib.sh), so tests find Docker and the images they need.</summary>
public static class Scripts
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromMinutes(3);

    public static string RepoRoot { get; } = FindRoot();

    public static async Task<string> RunAsync(string command, string? workingDirectory = null, IDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo("bash", ["-c", $"source \"{Path.Combine(RepoRoot, "scripts", "lib.sh")}\" && {command}"])
        {
            WorkingDirectory = workingDirectory ?? RepoRoot,
        };
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        var (exitCode, stdout, stderr) = await Processes.RunAsync(start, s_timeout);
        Assert.True(exitCode == 0, $"`{command}` failed ({exitCode}): {stderr}");
        return stdout;
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Grains.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Cannot find the repository root (Grains.sln) above " + AppContext.BaseDirectory);
    }
}

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
/// client for it. Tests talk to it only over HTTP.
/// </summary>
public class StevedoreServer : IAsyncLifetime
{
    public const string Image = "stevedore/busybox:latest";

    private WebApplication? _app;

    protected virtual IDictionary<string, string?> Settings => new Dictionary<string, string?>();

    public HttpClient Http { get; private set; } = null!;

    /// <summary>The host's gRPC endpoint (HTTP/2 cleartext).</summary>
    public Uri GrpcAddress { get; } = new($"http://127.0.0.1:{Names.FreePort()}");
    public IServiceProvider Services => _app!.Services;

    /// <summary>Runs before the host is built (e.g. to create a database its settings name).</summary>
    protected virtual Task PrepareAsync() => Task.CompletedTask;

    protected virtual Task CleanupAsync() => Task.CompletedTask;

    /// <summary>Adds to the host before it is built (e.g. a trace exporter a test reads).</summary>
    protected virtual void ConfigureHost(WebApplicationBuilder builder)
    {
    }
    public DockerClient Docker { get; } = new DockerClientConfiguration(new Uri("unix:///var/run/docker.sock")).CreateClient();

    public async Task InitializeAsync()
    {
        await Scripts.RunAsync("ensure_docker && ensure_busybox_image " + Image);
        await PrepareAsync();
        var settings = new Dictionary<string, string?>
        {
            ["Kestrel:Endpoints:Http:Url"] = "http://127.0.0.1:0",
            ["Kestrel:Endpoints:Grpc:Url"] = GrpcAddress.ToString(),
            ["Orleans:ClusterId"] = "it-" + Guid.NewGuid().ToString("N")[..8],
            ["Orleans:SiloPort"] = Names.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Orleans:GatewayPort"] = Names.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Stevedore:Worker:Slots"] = "4",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        foreach (var (key, value) in Settings)
        {
            settings[key] = value;
        }

        _app = await StevedoreHost.BuildAsync([], b =>
        {
            b.Configuration.AddInMemoryCollection(settings);
            ConfigureHost(b);
        });
        await _app.StartAsync();
        var address = _app.Urls.First(u => new Uri(u).Port != GrpcAddress.Port);
        Http = new HttpClient { BaseAddress = new Uri(address), Timeout = TimeSpan.FromSeconds(90) };
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        Docker.Dispose();
        await CleanupAsync();
    }

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

    /// <summary>Follows the task's log until it ends (the server holds the call open), then returns the task.</summary>
    public async Task<JsonElement> WaitForEndAsync(string id, int seconds = 60)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            using (var follow = await Http.GetAsync($"/v1/tasks/{id}/log?follow=true", HttpCompletionOption.ResponseHeadersRead))
            {
                await follow.Content.ReadAsStringAsync();
            }

            var task = await GetTaskAsync(id);
            if (task.GetProperty("status").GetString() is "succeeded" or "failed" or "timed_out" or "cancelled")
            {
                return task;
            }

            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(seconds), $"task {id} still {task.GetProperty("status")} after {seconds} s");
        }
    }

    public async Task<IList<ContainerListResponse>> ContainersOfAsync(string taskId) =>
        await Docker.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [$"stevedore.task={taskId}"] = true } },
        });
}

[CollectionDefinition(Name)]
public sealed class ServerCollection : ICollectionFixture<StevedoreServer>
{
    public const string Name = "server";
}

/// <summary>Runs the repository's service helpers (scripts/lib.sh), so tests find Docker and the images they need.</summary>
public static class Scripts
{
    public static string RepoRoot { get; } = FindRoot();

    public static async Task<string> RunAsync(string command)
    {
        var start = new ProcessStartInfo("bash", ["-c", $"source scripts/lib.sh && {command}"])
        {
            WorkingDirectory = RepoRoot,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"`{command}` failed: {await stderr}");
        return await stdout;
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

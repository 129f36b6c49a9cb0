using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Playwright;
using Stevedore.Host.Hosting;

namespace Stevedore.BrowserTests;

/// <summary>
/// A real Stevedore host with an admin token, running real containers on the local Docker Engine, and Debian's
/// Chromium driven by Playwright. <see cref="NewPageAsync"/> gives a page already logged in to the console. Its worker
/// node has a name of its own (<see cref="Names.Node"/>): on dispose — pass or fail — it removes every container the
/// node left.
/// </summary>
public sealed class ConsoleServer : IAsyncLifetime
{
    public const string Token = "browser-token-0123456789abcdef";
    public const string Image = "stevedore/busybox:latest";

    private static readonly string[] s_chromium = ["/usr/lib/chromium/chromium", "/usr/bin/chromium"];

    private WebApplication? _app;
    private int _grpcPort;
    private IPlaywright? _playwright;
    private string? _loggedIn;

    /// <summary>The worker node's name; every container it starts carries it as label <c>stevedore.node</c>.</summary>
    public string Node { get; } = Names.Node();

    public string Address { get; private set; } = "";
    public HttpClient Api { get; private set; } = null!;
    public IBrowser Browser { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await ShellAsync("ensure_docker && ensure_busybox_image " + Image + " && ensure_chromium");
        _app = await Names.StartOnFreePortsAsync(StartHostAsync, StopHostAsync);

        // The REST endpoint (HTTP/1.1), which serves the console; not the gRPC one (HTTP/2 only).
        Address = _app.Urls.First(u => new Uri(u).Port != _grpcPort);
        Api = new HttpClient { BaseAddress = new Uri(Address), Timeout = TimeSpan.FromSeconds(60) };
        Api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);

        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = s_chromium.First(File.Exists),
            Headless = true,
            Args = ["--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
        });
    }

    private async Task<WebApplication> StartHostAsync()
    {
        _grpcPort = Names.FreePort();
        var settings = new Dictionary<string, string?>
        {
            ["Kestrel:Endpoints:Http:Url"] = "http://127.0.0.1:0",
            ["Kestrel:Endpoints:Grpc:Url"] = $"http://127.0.0.1:{Port(_grpcPort)}",
            ["Orleans:ClusterId"] = Names.Unique("browser"),
            ["Orleans:SiloPort"] = Port(Names.FreePort()),
            ["Orleans:GatewayPort"] = Port(Names.FreePort()),
            ["Stevedore:Auth:AdminToken"] = Token,
            ["Stevedore:Worker:Slots"] = "4",
            ["Stevedore:Worker:Node"] = Node,
            ["Logging:LogLevel:Default"] = "Warning",
        };
        _app = await StevedoreHost.BuildAsync([], b => b.Configuration.AddInMemoryCollection(settings));
        await _app.StartAsync();
        return _app;
    }

    private Task StopHostAsync() => Cleanup.StopAsync(Interlocked.Exchange(ref _app, null));

    /// <summary>Each step runs even when one before it failed (or the start never finished).</summary>
    public Task DisposeAsync() => Cleanup.AllAsync(
        "the console test server",
        async () =>
        {
            if (_playwright is not null)
            {
                await Browser.CloseAsync();
                _playwright.Dispose();
            }
        },
        () => { Api?.Dispose(); return Task.CompletedTask; },
        StopHostAsync,
        () => Containers.SweepAsync(Containers.NodeLabel, Node));

    /// <summary>A fresh browser context (own cookies), optionally at phone size, not logged in.</summary>
    public Task<IBrowserContext> NewContextAsync(bool phone = false, string? storageState = null) => ContextAsync(new BrowserNewContextOptions
    {
        BaseURL = Address,
        ViewportSize = phone ? new ViewportSize { Width = 375, Height = 812 } : new ViewportSize { Width = 1280, Height = 900 },
        StorageState = storageState,
    });

    /// <summary>A page in a context logged in through the login form once (its cookies are reused).</summary>
    public async Task<IPage> NewPageAsync(bool phone = false)
    {
        if (_loggedIn is null)
        {
            await using var context = await NewContextAsync();
            var page = await context.NewPageAsync();
            await page.GotoAsync("/console/login");
            await page.GetByLabel("Admin token").FillAsync(Token);
            await page.GetByRole(AriaRole.Button, new() { Name = "Log in" }).ClickAsync();
            await page.WaitForURLAsync("**/console");
            _loggedIn = await context.StorageStateAsync();
        }

        var logged = await NewContextAsync(phone, _loggedIn);
        return await logged.NewPageAsync();
    }

    private async Task<IBrowserContext> ContextAsync(BrowserNewContextOptions options)
    {
        var context = await Browser.NewContextAsync(options);
        // Pages answer in milliseconds; waits on running containers give their own, longer timeouts.
        context.SetDefaultTimeout(15_000);
        return context;
    }

    public async Task PutJobAsync(string name, object definition)
    {
        var response = await Api.PutAsJsonAsync($"/v1/jobs/{name}", definition);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    public async Task<string> EnqueueAsync(string job, object? body = null)
    {
        var response = await Api.PostAsJsonAsync($"/v1/jobs/{job}/tasks", body ?? new { });
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
    }

    public async Task<JsonElement> TaskAsync(string id) => await Api.GetFromJsonAsync<JsonElement>($"/v1/tasks/{id}");

    /// <summary>Waits until the task's status is one of <paramref name="statuses"/>, following its log meanwhile.</summary>
    public Task<JsonElement> WaitForStatusAsync(string id, params string[] statuses)
    {
        bool Done(JsonElement task) => statuses.Contains(task.GetProperty("status").GetString());
        return Wait.UntilAsync(
            async () =>
            {
                var task = await TaskAsync(id);
                if (!Done(task))
                {
                    // Returns when the task has ended (or the server gives up following): no polling while it runs.
                    using var follow = await Api.GetAsync($"/v1/tasks/{id}/log?follow=true", HttpCompletionOption.ResponseHeadersRead);
                    await follow.Content.ReadAsStringAsync();
                    task = await TaskAsync(id);
                }

                return task;
            },
            Done, $"task {id} to be {string.Join(" or ", statuses)}", describe: t => $"{t.GetProperty("status")}");
    }

    private static string Port(int port) => port.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static async Task ShellAsync(string command)
    {
        var root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "Grains.sln")))
        {
            root = Path.GetDirectoryName(root) ?? throw new InvalidOperationException("no Grains.sln above the test folder");
        }

        using var process = Process.Start(new ProcessStartInfo("bash", ["-c", $"source scripts/lib.sh && {command}"])
        {
            WorkingDirectory = root,
            RedirectStandardError = true,
        })!;
        var stderr = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"`{command}` failed: {stderr}");
    }
}

[CollectionDefinition(Name)]
public sealed class ConsoleCollection : ICollectionFixture<ConsoleServer>
{
    public const string Name = "console";
}

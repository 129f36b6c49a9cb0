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
/// Chromium driven by Playwright. <see cref="NewPageAsync"/> gives a page already logged in to the console.
/// </summary>
public sealed class ConsoleServer : IAsyncLifetime
{
    public const string Token = "browser-token-0123456789abcdef";
    public const string Image = "stevedore/busybox:latest";

    private static readonly string[] s_chromium = ["/usr/lib/chromium/chromium", "/usr/bin/chromium"];

    private WebApplication? _app;
    private IPlaywright? _playwright;
    private string? _loggedIn;

    public string Address { get; private set; } = "";
    public HttpClient Api { get; private set; } = null!;
    public IBrowser Browser { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await ShellAsync("ensure_docker && ensure_busybox_image " + Image + " && ensure_chromium");
        var settings = new Dictionary<string, string?>
        {
            ["Kestrel:Endpoints:Http:Url"] = "http://127.0.0.1:0",
            ["Orleans:ClusterId"] = "browser-" + Guid.NewGuid().ToString("N")[..8],
            ["Orleans:SiloPort"] = FreePort(),
            ["Orleans:GatewayPort"] = FreePort(),
            ["Stevedore:Auth:AdminToken"] = Token,
            ["Stevedore:Worker:Slots"] = "4",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        _app = await StevedoreHost.BuildAsync([], b => b.Configuration.AddInMemoryCollection(settings));
        await _app.StartAsync();
        Address = _app.Urls.First();
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

    public async Task DisposeAsync()
    {
        if (_playwright is not null)
        {
            await Browser.CloseAsync();
            _playwright.Dispose();
        }

        Api?.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }

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
    public async Task<JsonElement> WaitForStatusAsync(string id, params string[] statuses)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var task = await TaskAsync(id);
            if (statuses.Contains(task.GetProperty("status").GetString()))
            {
                return task;
            }

            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(60), $"task {id} is still {task.GetProperty("status")} after 60 s");
            using var follow = await Api.GetAsync($"/v1/tasks/{id}/log?follow=true", HttpCompletionOption.ResponseHeadersRead);
            await follow.Content.ReadAsStringAsync();
        }
    }

    public static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid().ToString("N")[..8]}";

    private static string FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

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

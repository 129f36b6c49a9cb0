using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Stevedore.IntegrationTests.Cluster;

/// <summary>A Stevedore host in a process of its own (as in production), on free ports, backed by PostgreSQL.</summary>
public sealed class SiloProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private SiloProcess(Process process, int siloPort, int gatewayPort, int httpPort)
    {
        _process = process;
        SiloPort = siloPort;
        GatewayPort = gatewayPort;
        Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}"), Timeout = TimeSpan.FromSeconds(60) };
    }

    public int SiloPort { get; }
    public int GatewayPort { get; }
    public string Node => $"{Environment.MachineName}:{SiloPort}";
    public HttpClient Http { get; }
    public bool HasExited => _process.HasExited;
    public int ExitCode => _process.ExitCode;
    public string Output { get { lock (_output) { return _output.ToString(); } } }

    public static string HostDll
    {
        get
        {
            // tests/<project>/bin/<Configuration>/net10.0/ → the host built in the same configuration.
            var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;
            return Path.Combine(Scripts.RepoRoot, "src", "Stevedore.Host", "bin", configuration, "net10.0", "Stevedore.Host.dll");
        }
    }

    /// <summary>Starts a host process and returns at once (use <see cref="WaitHealthyAsync"/> or <see cref="WaitExitAsync"/>).</summary>
    public static SiloProcess Launch(string connectionString, string clusterId, params string[] extra)
    {
        var siloPort = Names.FreePort();
        var gatewayPort = Names.FreePort();
        var httpPort = Names.FreePort();
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
        {
            HostDll,
            "--Stevedore:Storage=Postgres",
            $"--ConnectionStrings:Postgres={connectionString}",
            $"--Orleans:ClusterId={clusterId}",
            $"--Orleans:SiloPort={siloPort}",
            $"--Orleans:GatewayPort={gatewayPort}",
            $"--Kestrel:Endpoints:Http:Url=http://127.0.0.1:{httpPort}",
            $"--Kestrel:Endpoints:Grpc:Url=http://127.0.0.1:{Names.FreePort()}",
            "--Stevedore:Worker:Slots=2",
            "--Stevedore:Queue:LeaseDuration=00:00:03",
            "--Logging:LogLevel:Default=Warning",
        }.Concat(extra))
        {
            start.ArgumentList.Add(arg);
        }

        var process = Process.Start(start)!;
        var silo = new SiloProcess(process, siloPort, gatewayPort, httpPort);
        process.OutputDataReceived += (_, e) => silo.Append(e.Data);
        process.ErrorDataReceived += (_, e) => silo.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return silo;
    }

    public static async Task<SiloProcess> StartAsync(string connectionString, string clusterId, params string[] extra)
    {
        var silo = Launch(connectionString, clusterId, extra);
        await silo.WaitHealthyAsync();
        return silo;
    }

    public async Task WaitHealthyAsync()
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            Assert.False(_process.HasExited, $"the host exited with {(_process.HasExited ? _process.ExitCode : 0)}:\n{Output}");
            try
            {
                if ((await Http.GetAsync("/healthz")).IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }

            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(90), $"the host did not become healthy:\n{Output}");
            await Task.Delay(100);
        }
    }

    public async Task<int> WaitExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    /// <summary>SIGKILL: no shutdown, no goodbye to the cluster.</summary>
    public void Kill() => _process.Kill(entireProcessTree: true);

    public async Task<JsonElement> GetTaskAsync(string id) => await Http.GetFromJsonAsync<JsonElement>($"/v1/tasks/{id}");

    public async Task<string> EnqueueAsync(string job, object? body = null)
    {
        var response = await Http.PostAsJsonAsync($"/v1/jobs/{job}/tasks", body ?? new { });
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
    }

    public async Task PutJobAsync(string name, object body)
    {
        var response = await Http.PutAsJsonAsync($"/v1/jobs/{name}", body);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>Waits until every task has ended (polling the API), and returns them.</summary>
    public async Task<List<JsonElement>> WaitAllEndedAsync(IEnumerable<string> ids, int seconds = 120)
    {
        var deadline = Stopwatch.StartNew();
        var results = new List<JsonElement>();
        foreach (var id in ids)
        {
            while (true)
            {
                var task = await GetTaskAsync(id);
                if (task.GetProperty("status").GetString() is "succeeded" or "failed" or "timed_out" or "cancelled")
                {
                    results.Add(task);
                    break;
                }

                Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(seconds), $"task {id} is still {task.GetProperty("status")}:\n{Output}");
                await Task.Delay(100);
            }
        }

        return results;
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }
}

using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Stevedore.IntegrationTests.Cluster;

/// <summary>
/// A Stevedore host in a process of its own (as in production), backed by PostgreSQL. Kestrel binds port 0 and the
/// process says which port it got; silo and gateway ports come from <see cref="Names.FreePort"/>, and a start that
/// finds one taken starts again on new ports. Disposing kills the process and removes its node's containers.
/// </summary>
public sealed partial class SiloProcess : IAsyncDisposable
{
    private const int StartTries = 3;
    private const string NodeSetting = "--Stevedore:Worker:Node=";

    private readonly string _connectionString;
    private readonly string _clusterId;
    private readonly string[] _extra;
    private readonly StringBuilder _output = new();
    private Process _process = null!;
    private HttpClient? _http;
    private volatile string? _listeningAt;
    private int _grpcPort;
    private int _starts;

    private SiloProcess(string connectionString, string clusterId, string[] extra)
    {
        _connectionString = connectionString;
        _clusterId = clusterId;
        Node = extra.LastOrDefault(a => a.StartsWith(NodeSetting, StringComparison.Ordinal))?[NodeSetting.Length..] ?? Names.Node();
        _extra = [$"{NodeSetting}{Node}", .. extra];
    }

    public int SiloPort { get; private set; }
    public int GatewayPort { get; private set; }

    /// <summary>The worker node's name: the one given with <c>--Stevedore:Worker:Node=</c>, else one of this test run's.</summary>
    public string Node { get; }

    /// <summary>The host's HTTP API; there once the host has said where it listens (see <see cref="WaitHealthyAsync"/>).</summary>
    public HttpClient Http => _http ??= _listeningAt is { } url
        ? new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(60) }
        : throw new InvalidOperationException($"The host has not said where it listens yet:\n{Output}");

    public bool HasExited => _process.HasExited;
    public int ExitCode => _process.ExitCode;
    public int ProcessId => _process.Id;
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

    /// <summary>Starts a host process and returns at once (then <see cref="WaitHealthyAsync"/> or <see cref="WaitExitAsync"/>).</summary>
    public static SiloProcess Launch(string connectionString, string clusterId, params string[] extra)
    {
        var silo = new SiloProcess(connectionString, clusterId, extra);
        silo.Start();
        return silo;
    }

    /// <summary>Starts a host process and waits until it is healthy; a start that fails leaves no process behind.</summary>
    public static async Task<SiloProcess> StartAsync(string connectionString, string clusterId, params string[] extra)
    {
        var silo = Launch(connectionString, clusterId, extra);
        try
        {
            await silo.WaitHealthyAsync();
            return silo;
        }
        catch
        {
            await silo.DisposeAsync();
            throw;
        }
    }

    private void Start()
    {
        _starts++;
        _listeningAt = null;
        _http?.Dispose();
        _http = null;
        SiloPort = Names.FreePort();
        GatewayPort = Names.FreePort();
        _grpcPort = Names.FreePort();
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
            $"--ConnectionStrings:Postgres={_connectionString}",
            $"--Orleans:ClusterId={_clusterId}",
            $"--Orleans:SiloPort={SiloPort.ToString(CultureInfo.InvariantCulture)}",
            $"--Orleans:GatewayPort={GatewayPort.ToString(CultureInfo.InvariantCulture)}",
            "--Kestrel:Endpoints:Http:Url=http://127.0.0.1:0",
            $"--Kestrel:Endpoints:Grpc:Url=http://127.0.0.1:{_grpcPort.ToString(CultureInfo.InvariantCulture)}",
            "--Stevedore:Worker:Slots=2",
            "--Stevedore:Queue:LeaseDuration=00:00:03",
            "--Logging:LogLevel:Default=Warning",
            // The lines "Now listening on: …" say which port Kestrel got for HTTP (the other one is gRPC's).
            "--Logging:LogLevel:Microsoft.Hosting.Lifetime=Information",
        }.Concat(_extra))
        {
            start.ArgumentList.Add(arg);
        }

        _process = Process.Start(start)!;
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>
    /// Waits until the host answers <c>/healthz</c> with 200. Fails at once, with the host's output, when the process
    /// exits — unless it exited because a port was taken, then it starts again on new ports.
    /// </summary>
    public async Task WaitHealthyAsync()
    {
        var state = await Wait.UntilAsync(ProbeAsync, s => s.Healthy || s.Exited, $"host {Node} to become healthy",
            TimeSpan.FromSeconds(120), s => $"{s.Detail}\n{Output}");
        if (state.Healthy)
        {
            return;
        }

        if (Names.IsAddressInUse(Output) && _starts < StartTries)
        {
            Append($"[test] the host exited ({ExitCode}) because a port was taken; starting it again on new ports");
            _process.Dispose();
            Start();
            await WaitHealthyAsync();
            return;
        }

        Assert.Fail($"The host exited with {ExitCode} before it became healthy:\n{Output}");
    }

    private async Task<(bool Healthy, bool Exited, string Detail)> ProbeAsync()
    {
        if (_process.HasExited)
        {
            return (false, true, "exited");
        }

        if (_listeningAt is null)
        {
            return (false, false, "not listening yet");
        }

        try
        {
            using var response = await Http.GetAsync("/healthz");
            return (response.IsSuccessStatusCode, false, $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
        catch (HttpRequestException ex)
        {
            return (false, false, ex.Message);
        }
    }

    public async Task<int> WaitExitAsync(TimeSpan timeout)
    {
        await Wait.ForAsync(_process.WaitForExitAsync(), $"host {Node} to exit", timeout);
        return _process.ExitCode;
    }

    /// <summary>SIGKILL: no shutdown, no goodbye to the cluster.</summary>
    public void Kill() => _process.Kill(entireProcessTree: true);

    /// <summary>SIGTERM: what a supervisor sends to stop the host gracefully.</summary>
    public async Task TerminateAsync()
    {
        using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)])!;
        await kill.WaitForExitAsync();
        Assert.Equal(0, kill.ExitCode);
    }

    /// <summary>Runs the host binary as a command (e.g. <c>migrate</c>) to its end, killing it past <paramref name="timeout"/>.</summary>
    public static async Task<(int ExitCode, string Output)> RunCommandAsync(TimeSpan timeout, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet");
        start.ArgumentList.Add(HostDll);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        var (exitCode, stdout, stderr) = await Processes.RunAsync(start, timeout);
        return (exitCode, stdout + stderr);
    }

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

    /// <summary>Waits until the task satisfies <paramref name="condition"/> (polling the API), and returns it.</summary>
    public Task<JsonElement> WaitForTaskAsync(string id, Func<JsonElement, bool> condition, string what, int seconds = 60) =>
        Wait.UntilAsync(() => GetTaskAsync(id), condition, $"task {id} {what}", TimeSpan.FromSeconds(seconds), t => $"{t}\n{Output}");

    /// <summary>Waits until every task has ended (polling the API), and returns them.</summary>
    public async Task<List<JsonElement>> WaitAllEndedAsync(IEnumerable<string> ids, int seconds = 120)
    {
        var results = new List<JsonElement>();
        foreach (var id in ids)
        {
            results.Add(await WaitForTaskAsync(id, TaskJson.HasEnded, "to end", seconds));
        }

        return results;
    }

    public async ValueTask DisposeAsync()
    {
        _http?.Dispose();
        if (_process is { } process)
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }

            process.Dispose();
        }

        // The containers of a killed host keep running: remove them, pass or fail.
        await Containers.SweepAsync(Containers.NodeLabel, Node);
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        if (ListeningLine().Match(line) is { Success: true } listening && new Uri(listening.Groups[1].Value).Port != _grpcPort)
        {
            _listeningAt = listening.Groups[1].Value;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }

    [GeneratedRegex(@"Now listening on: (http://\S+)")]
    private static partial Regex ListeningLine();
}

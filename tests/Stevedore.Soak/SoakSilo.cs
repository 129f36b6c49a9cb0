using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Stevedore.Testing;

namespace Stevedore.Soak;

/// <summary>
/// One Stevedore host process of the soak's cluster, on PostgreSQL and the soak's own engine. Kestrel binds port 0 and
/// the process says which port it got; silo and gateway ports are new on every start. Its output goes to a log file.
/// </summary>
public sealed partial class SoakSilo : IAsyncDisposable
{
    private const int TailLines = 40;

    private readonly string[] _settings;
    private readonly StreamWriter _log;
    private readonly string _logPath;
    private readonly Queue<string> _tail = new();
    private readonly Lock _starting = new();
    private Process? _process;
    private volatile HttpClient? _http;
    private int _grpcPort;

    public SoakSilo(int number, string node, string logPath, params string[] settings)
    {
        Number = number;
        Node = node;
        _settings = settings;
        _logPath = logPath;
        _log = new StreamWriter(logPath, append: true) { AutoFlush = true };
    }

    public int Number { get; }

    public string Node { get; }

    /// <summary>Set while the chaos has taken this silo down on purpose: its exit is not a crash.</summary>
    public volatile bool Expected;

    /// <summary>The host's HTTP API once it has said where it listens; null while it is down or starting.</summary>
    public HttpClient? Http => _process is { HasExited: false } ? _http : null;

    /// <summary>The process ended without the soak killing it.</summary>
    public bool Crashed => !Expected && _process is { HasExited: true };

    public int? ProcessId => _process is { HasExited: false } p ? p.Id : null;

    public string Tail
    {
        get
        {
            lock (_tail)
            {
                return string.Join('\n', _tail);
            }
        }
    }

    public static string HostDll
    {
        get
        {
            // tests/Stevedore.Soak/bin/<Configuration>/net10.0/ → the host built in the same configuration.
            var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;
            return Path.Combine(Shell.RepoRoot, "src", "Stevedore.Host", "bin", configuration, "net10.0", "Stevedore.Host.dll");
        }
    }

    public void Start()
    {
        lock (_starting)
        {
            StartProcess();
        }
    }

    private void StartProcess()
    {
        _http = null;
        // Two callers may start a silo that exited (the crash watcher, a wait that saw a port taken): one process only.
        if (_process is { HasExited: false } running)
        {
            running.Kill(entireProcessTree: true);
            running.WaitForExit();
        }

        _process?.Dispose();
        _grpcPort = Names.FreePort();
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(HostDll)!,
        };
        foreach (var arg in new[]
        {
            HostDll,
            $"--Orleans:SiloPort={Names.FreePort().ToString(CultureInfo.InvariantCulture)}",
            $"--Orleans:GatewayPort={Names.FreePort().ToString(CultureInfo.InvariantCulture)}",
            "--Kestrel:Endpoints:Http:Url=http://127.0.0.1:0",
            $"--Kestrel:Endpoints:Grpc:Url=http://127.0.0.1:{_grpcPort.ToString(CultureInfo.InvariantCulture)}",
            $"--Stevedore:Worker:Node={Node}",
            "--Logging:LogLevel:Default=Warning",
            // The lines "Now listening on: …" say which port Kestrel got for HTTP (the other one is gRPC's).
            "--Logging:LogLevel:Microsoft.Hosting.Lifetime=Information",
        }.Concat(_settings))
        {
            start.ArgumentList.Add(arg);
        }

        Append($"[soak] starting silo {Number}");
        _process = Process.Start(start)!;
        // scripts/soak kills what these name, should the soak itself die without cleaning up.
        File.WriteAllText(Path.ChangeExtension(_logPath, ".pid"), _process.Id.ToString(CultureInfo.InvariantCulture) + "\n");
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>Waits until <c>/healthz</c> answers 200; starts again on new ports when a port was taken.</summary>
    public async Task WaitHealthyAsync(TimeSpan deadline, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            if (_process is not { HasExited: false })
            {
                if (!Names.IsAddressInUse(Tail) || clock.Elapsed > deadline)
                {
                    throw new InvalidOperationException($"silo {Number} exited before it became healthy:\n{Tail}");
                }

                Start();
            }
            else if (_http is { } http)
            {
                try
                {
                    using var probe = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                    using var response = await http.GetAsync("/healthz", probe.Token);
                    if (response.IsSuccessStatusCode)
                    {
                        return;
                    }
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
                {
                }
            }

            if (clock.Elapsed > deadline)
            {
                throw new TimeoutException($"silo {Number} did not become healthy within {deadline.TotalSeconds:0} s:\n{Tail}");
            }

            await Task.Delay(200, ct);
        }
    }

    /// <summary>SIGKILL: no shutdown, no goodbye to the cluster; its containers keep running on the engine.</summary>
    public async Task KillAsync()
    {
        _http = null;
        if (_process is { HasExited: false } process)
        {
            Append($"[soak] kill -9 of silo {Number}");
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process?.Dispose();
        await _log.DisposeAsync();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        if (ListeningLine().Match(line) is { Success: true } listening && new Uri(listening.Groups[1].Value).Port != _grpcPort)
        {
            _http = new HttpClient { BaseAddress = new Uri(listening.Groups[1].Value), Timeout = TimeSpan.FromSeconds(20) };
        }

        lock (_tail)
        {
            _tail.Enqueue(line);
            while (_tail.Count > TailLines)
            {
                _tail.Dequeue();
            }

            _log.WriteLine(line);
        }
    }

    [GeneratedRegex(@"Now listening on: (http://\S+)")]
    private static partial Regex ListeningLine();
}

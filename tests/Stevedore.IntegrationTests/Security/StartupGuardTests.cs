using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Stevedore.Host.Hosting;

namespace Stevedore.IntegrationTests.Security;

/// <summary>
/// Without a token the host refuses to start when Kestrel really listens beyond loopback, whatever set the address;
/// /healthz says what is wrong without internal addresses.
/// </summary>
public class StartupGuardTests
{
    /// <summary>The host in a process of its own, with the environment given (embedded storage, no worker slots).</summary>
    private sealed class HostProcess : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _output = new();

        public HostProcess(IDictionary<string, string> environment, params string[] args)
        {
            var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var arg in new[]
            {
                Cluster.SiloProcess.HostDll,
                $"--Orleans:ClusterId={Names.Unique("guard")}",
                $"--Orleans:SiloPort={Names.FreePort()}",
                $"--Orleans:GatewayPort={Names.FreePort()}",
                "--Stevedore:Worker:Slots=0",
                "--Logging:LogLevel:Default=Warning",
            }.Concat(args))
            {
                start.ArgumentList.Add(arg);
            }

            foreach (var (key, value) in environment)
            {
                start.Environment[key] = value;
            }

            _process = Process.Start(start)!;
            _process.OutputDataReceived += (_, e) => Append(e.Data);
            _process.ErrorDataReceived += (_, e) => Append(e.Data);
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
        }

        public string Output { get { lock (_output) { return _output.ToString(); } } }

        public async Task<int> ExitCodeAsync(int seconds = 90)
        {
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
            try
            {
                await _process.WaitForExitAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                Assert.Fail($"the host was still running after {seconds} s:\n{Output}");
            }

            return _process.ExitCode;
        }

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }

            _process.Dispose();
        }

        private void Append(string? line)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }

    private static string Port(int port) => port.ToString(CultureInfo.InvariantCulture);

    [Theory]
    [InlineData("ASPNETCORE_HTTP_PORTS", "{port}")]
    [InlineData("ASPNETCORE_URLS", "http://0.0.0.0:{port}")]
    [InlineData("ASPNETCORE_URLS", "http://+:{port}")]
    public async Task AnAddressBeyondLoopback_FromTheEnvironment_StopsTheStart(string variable, string value)
    {
        var port = Names.FreePort();
        // PREFERHOSTINGURLS makes Kestrel take these over its configured endpoint, as an operator's environment may.
        await using var host = new HostProcess(new Dictionary<string, string>
        {
            [variable] = value.Replace("{port}", Port(port), StringComparison.Ordinal),
            ["ASPNETCORE_PREFERHOSTINGURLS"] = "true",
        });

        Assert.Equal(2, await host.ExitCodeAsync());
        Assert.Contains($"stevedore: Refusing to listen on http://[::]:{port}/ without an admin token", host.Output.Replace("0.0.0.0", "[::]", StringComparison.Ordinal));
        Assert.Contains("Stevedore:Auth:AdminToken", host.Output);
    }

    [Fact]
    public async Task AnAddressKestrelDoesNotUse_DoesNotStopTheStart()
    {
        // Kestrel's configured endpoint wins over ASPNETCORE_URLS (it says so in a warning): the host listens on
        // loopback only, so it starts.
        var unused = Names.FreePort();
        var http = Names.FreePort();
        await using var host = new HostProcess(new Dictionary<string, string> { ["ASPNETCORE_URLS"] = $"http://0.0.0.0:{unused}" },
            $"--Kestrel:Endpoints:Http:Url=http://127.0.0.1:{http}");
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{http}") };

        await Wait.UntilAsync(async () =>
        {
            Assert.False(host.Output.Contains("Refusing", StringComparison.Ordinal), host.Output);
            try
            {
                return (await client.GetAsync("/v1/jobs")).StatusCode == HttpStatusCode.OK;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, "the host to answer on its loopback endpoint", TimeSpan.FromSeconds(90));
        using var probe = new TcpClient();
        await Assert.ThrowsAnyAsync<SocketException>(() => probe.ConnectAsync(IPAddress.Loopback, unused));
    }

    [Theory]
    [InlineData("Http", "http://0.0.0.0:0")]
    [InlineData("Http", "http://[::]:0")]
    [InlineData("Http", "http://*:0")]
    [InlineData("Grpc", "http://0.0.0.0:0")]
    [InlineData("Grpc", "http://[::]:0")]
    public async Task AKestrelEndpointBeyondLoopback_StopsTheStart(string endpoint, string url)
    {
        // The REST and the gRPC endpoint follow the same rule; the other one listens on loopback.
        var app = await StevedoreHost.BuildAsync([], b => b.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Kestrel:Endpoints:Http:Url"] = endpoint == "Http" ? url : "http://127.0.0.1:0",
            ["Kestrel:Endpoints:Grpc:Url"] = endpoint == "Grpc" ? url : "http://127.0.0.1:0",
            ["Orleans:ClusterId"] = Names.Unique("guard"),
            ["Orleans:SiloPort"] = Port(Names.FreePort()),
            ["Orleans:GatewayPort"] = Port(Names.FreePort()),
            ["Stevedore:Worker:Slots"] = "0",
            ["Logging:LogLevel:Default"] = "Critical",
        }));
        await using (app)
        {
            var refused = await Assert.ThrowsAsync<StartupException>(() => app.StartAsync());
            Assert.Contains("Stevedore:Auth:AdminToken", refused.Message);
            await app.StopAsync();
        }
    }

    [Fact]
    public async Task Healthz_NamesWhatIsWrong_WithoutInternalAddressesOrErrorText()
    {
        const string secretPath = "/run/stevedore-secret-place/docker.sock";
        var server = new UnreachableDockerServer($"unix://{secretPath}");
        await server.InitializeAsync();
        try
        {
            var response = await server.Http.GetAsync("/healthz");
            var body = await response.Content.ReadAsStringAsync();

            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.StartsWith("docker: the container engine does not answer", body);
            Assert.DoesNotContain("stevedore-secret-place", body);
            Assert.DoesNotContain("unix:", body);
            Assert.DoesNotContain("Exception", body);
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    private sealed class UnreachableDockerServer(string endpoint) : StevedoreServer
    {
        protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
        {
            ["Stevedore:Docker:Endpoint"] = endpoint,
            ["Stevedore:Worker:Slots"] = "0",
        };
    }
}

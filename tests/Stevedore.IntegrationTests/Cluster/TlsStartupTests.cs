using System.Globalization;
using System.Net;
using Microsoft.Extensions.Configuration;
using Stevedore.Host.Cluster;
using Stevedore.Host.Hosting;

namespace Stevedore.IntegrationTests.Cluster;

/// <summary>An embedded (in-memory, one-silo) host with TLS on its loopback silo and gateway ports.</summary>
public sealed class LoopbackTlsServer : StevedoreServer
{
    private readonly string _dir = Directory.CreateTempSubdirectory("stevedore-certs-").FullName;

    public int SiloPort { get; } = Names.FreePort();
    public int GatewayPort { get; } = Names.FreePort();
    public string CertDir => _dir;

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Orleans:SiloPort"] = SiloPort.ToString(CultureInfo.InvariantCulture),
        ["Orleans:GatewayPort"] = GatewayPort.ToString(CultureInfo.InvariantCulture),
        ["Orleans:Tls:CertificatePath"] = Path.Combine(_dir, "silo.crt"),
        ["Orleans:Tls:KeyPath"] = Path.Combine(_dir, "silo.key"),
        ["Orleans:Tls:CaPath"] = Path.Combine(_dir, "ca.crt"),
    };

    protected override Task PrepareAsync()
    {
        Assert.Equal(0, CertsCommand.Run(["ca", "--out", _dir], TextWriter.Null));
        Assert.Equal(0, CertsCommand.Run(["silo", "silo", "--out", _dir], TextWriter.Null));
        Assert.Equal(0, CertsCommand.Run(["silo", "peer", "--out", _dir], TextWriter.Null));
        return Task.CompletedTask;
    }

    protected override Task CleanupAsync()
    {
        Directory.Delete(_dir, recursive: true);
        return Task.CompletedTask;
    }
}

public class TlsStartupTests(LoopbackTlsServer server) : IClassFixture<LoopbackTlsServer>
{
    [Fact]
    public async Task TlsOnLoopback_TheHostServes_AndItsSiloAndGatewayPortsSpeakMutualTls()
    {
        await server.WaitHealthyAsync();
        foreach (var port in new[] { server.SiloPort, server.GatewayPort })
        {
            await TlsCluster.AssertMutualTlsAsync(new IPEndPoint(IPAddress.Loopback, port), server.CertDir, peer: "peer", expectedSubject: "CN=silo");
        }
    }

    [Theory]
    [InlineData("Orleans:Endpoints:SiloListeningEndpoint", "0.0.0.0:{0}", "the silo port on 0.0.0.0:")]
    [InlineData("Orleans:Endpoints:GatewayListeningEndpoint", "0.0.0.0:{0}", "the gateway port on 0.0.0.0:")]
    public async Task OrleansOwnEndpointSettings_CannotOpenAPortBeyondLoopback_WithoutTls(string key, string value, string expected)
    {
        var ex = await Assert.ThrowsAsync<StartupException>(() => StevedoreHost.BuildAsync([], b =>
            b.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Kestrel:Endpoints:Http:Url"] = "http://127.0.0.1:0",
                ["Orleans:SiloPort"] = Names.FreePort().ToString(CultureInfo.InvariantCulture),
                ["Orleans:GatewayPort"] = Names.FreePort().ToString(CultureInfo.InvariantCulture),
                [key] = string.Format(CultureInfo.InvariantCulture, value, Names.FreePort()),
            })));

        Assert.Contains(expected, ex.Message);
        Assert.Contains("Orleans:Tls:CertificatePath", ex.Message);
    }

    [Theory]
    [InlineData("Orleans:Tls:CaPath", "{dir}/ca.crt", "Orleans:Tls:CertificatePath is not set")]
    [InlineData("Orleans:Tls:CertificatePath", "{dir}/silo.crt", "Orleans:Tls:CaPath")]
    public async Task HalfATlsConfiguration_StopsTheHost_NamingTheKey(string key, string value, string expected)
    {
        var ex = await Assert.ThrowsAsync<StartupException>(() => StevedoreHost.BuildAsync([], b =>
            b.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Kestrel:Endpoints:Http:Url"] = "http://127.0.0.1:0",
                [key] = value.Replace("{dir}", server.CertDir, StringComparison.Ordinal),
            })));

        Assert.Contains(expected, ex.Message);
    }
}

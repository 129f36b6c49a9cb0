using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Configuration;
using Orleans.Runtime;
using Stevedore.Host.Cluster;
using Xunit.Abstractions;

namespace Stevedore.IntegrationTests.Cluster;

/// <summary>
/// Mutual TLS on the silo and gateway ports: a TLS cluster runs tasks; a silo, a client or a raw connection without a
/// certificate from the cluster's CA gets nowhere; a host refuses to open those ports beyond loopback without TLS.
/// </summary>
[Collection(ClusterCollection.Name)]
public class TlsClusterTests(TlsCluster cluster, ITestOutputHelper output) : IClassFixture<TlsCluster>
{
    private const int Active = 3; // Orleans' SiloStatus.Active in the membership table

    [Fact]
    public async Task ATlsCluster_OnANonLoopbackAddress_RunsTasksOnBothSilos()
    {
        var job = Names.Unique("tls");
        await cluster.A.PutJobAsync(job, new { image = StevedoreServer.Image, command = new[] { "sh", "-c", "sleep 1; echo ran $STEVEDORE_ATTEMPT" } });
        var ids = new List<string>();
        for (var i = 0; i < 8; i++)
        {
            ids.Add(await (i % 2 == 0 ? cluster.A : cluster.B).EnqueueAsync(job));
        }

        var tasks = await cluster.B.WaitAllEndedAsync(ids);

        Assert.All(tasks, t => Assert.Equal("succeeded", t.GetProperty("status").GetString()));
        Assert.Equal("ran 1\n", await cluster.A.Http.GetStringAsync($"/v1/tasks/{ids[1]}/log"));
        var nodes = tasks.Select(t => t.GetProperty("node").GetString()).ToHashSet();
        Assert.Equal(new HashSet<string?> { cluster.A.Node, cluster.B.Node }, nodes);
        var members = await cluster.MembershipAsync();
        Assert.Contains((cluster.A.SiloPort, Active), members);
        Assert.Contains((cluster.B.SiloPort, Active), members);
        // What the silos spoke to each other: TLS, each showing its certificate from the cluster's CA.
        await TlsCluster.AssertMutualTlsAsync(new IPEndPoint(cluster.Address, cluster.A.SiloPort), cluster.CertDir, peer: "b", expectedSubject: "CN=a");
    }

    [Fact]
    public async Task ASiloWithoutACertificateFromTheClusterCa_NeverBecomesActive()
    {
        var otherCa = Path.Combine(cluster.CertDir, "other");
        await TlsCluster.CertsAsync("ca", "--out", otherCa);
        await TlsCluster.CertsAsync("silo", "intruder", "--out", otherCa);
        // Each trusts only itself: one speaks plaintext on loopback, one TLS with a certificate from a CA of its own.
        var giveUpSoon = "--Orleans:Membership:MaxJoinAttemptTime=00:00:10";
        var plaintext = cluster.Launch(giveUpSoon);
        var foreign = cluster.Launch([giveUpSoon, .. TlsCluster.TlsArgs(otherCa, "intruder")]);

        var seenActive = new HashSet<int>();
        var deadline = Stopwatch.StartNew();
        await Wait.UntilAsync(async () =>
        {
            foreach (var (port, status) in await cluster.MembershipAsync())
            {
                if (status == Active)
                {
                    seenActive.Add(port);
                }
            }

            return plaintext.HasExited && foreign.HasExited;
        }, gaveUp => gaveUp, "the intruders to give up", TimeSpan.FromSeconds(90),
            _ => $"still trying\n--- plaintext:\n{plaintext.Output}\n--- foreign CA:\n{foreign.Output}");

        output.WriteLine($"both intruders gave up after {deadline.Elapsed.TotalSeconds:0.0} s");
        Assert.DoesNotContain(plaintext.SiloPort, seenActive);
        Assert.DoesNotContain(foreign.SiloPort, seenActive);
        Assert.NotEqual(0, plaintext.ExitCode);
        Assert.NotEqual(0, foreign.ExitCode);
        Assert.Contains("Refused an Orleans connection: the peer's certificate 'CN=intruder'", cluster.A.Output + cluster.B.Output);
        var members = await cluster.MembershipAsync();
        Assert.Equal(new[] { cluster.A.SiloPort, cluster.B.SiloPort }.Order(), members.Where(m => m.Status == Active).Select(m => m.Port).Order());
        await TaskJson.WaitHealthyAsync(cluster.A.Http, "host a");
    }

    [Fact]
    public async Task RawConnections_ToTheTlsPorts_GetNothingBack_WhereAPlaintextSiloAnswers()
    {
        // A preamble-shaped frame (Orleans' framing: a 4-byte length, then the body) and plain garbage.
        var frame = new byte[4 + 64];
        BinaryPrimitives.WriteInt32LittleEndian(frame, 64);
        Random.Shared.NextBytes(frame.AsSpan(4));
        var garbage = Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: silo\r\n\r\n" + new string('x', 1000));

        // The control: a plaintext silo sends its preamble, which names its cluster, as soon as it accepts a connection.
        // (It reads ours at the same time: a probe sent first can make it hang up, and the reset can discard its bytes
        // before they are read — so the control only listens.)
        var plainCluster = Names.Unique("plain");
        await using var plain = await SiloProcess.StartAsync(cluster.Db.ConnectionString, plainCluster);
        var control = await ListenUntilAsync(new IPEndPoint(IPAddress.Loopback, plain.SiloPort), plainCluster);
        Assert.True(control.Length > 0, "the plaintext silo sent nothing: the probe cannot tell an open port from a closed one");
        Assert.Contains(plainCluster, Encoding.UTF8.GetString(control));

        foreach (var port in new[] { cluster.A.SiloPort, cluster.A.GatewayPort, cluster.B.SiloPort, cluster.B.GatewayPort })
        {
            foreach (var probe in new[] { frame, garbage })
            {
                var (read, ending) = await ProbeAsync(new IPEndPoint(cluster.Address, port), probe);
                output.WriteLine($"port {port}: {read.Length} bytes, then {ending}");
                Assert.True(read.Length == 0, $"port {port} answered a plaintext probe with {read.Length} bytes: {Convert.ToHexString(read)}");
                Assert.NotEqual("open", ending);
            }
        }
    }

    [Fact]
    public async Task GatewayClients_CallGrains_OnlyWithACertificateFromTheClusterCa()
    {
        await TlsCluster.CertsAsync("silo", "client", "--out", cluster.CertDir);
        var otherCa = Path.Combine(cluster.CertDir, "other-client");
        await TlsCluster.CertsAsync("ca", "--out", otherCa);
        await TlsCluster.CertsAsync("silo", "intruder-client", "--out", otherCa);
        var clusterCa = Path.Combine(cluster.CertDir, "ca.crt");
        // The CA's certificate is not secret: the intruder trusts it, but its own certificate comes from another CA.
        var intruder = new ClusterCredentials(
            X509Certificate2.CreateFromPemFile(Path.Combine(otherCa, "intruder-client.crt"), Path.Combine(otherCa, "intruder-client.key")),
            [X509CertificateLoader.LoadCertificateFromFile(clusterCa)], []);

        var hosts = await CallThroughGatewayAsync(ClusterCredentials.Load(new ClusterTlsOptions
        {
            CertificatePath = Path.Combine(cluster.CertDir, "client.crt"),
            KeyPath = Path.Combine(cluster.CertDir, "client.key"),
            CaPath = clusterCa,
        }), TimeSpan.FromSeconds(30));
        Assert.Equal(2, hosts.Count);

        // Neither gets a single call through while a client with the right certificate needs about a second.
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => CallThroughGatewayAsync(null, TimeSpan.FromSeconds(10)));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => CallThroughGatewayAsync(intruder, TimeSpan.FromSeconds(10)));
        Assert.Contains("Refused an Orleans connection: the peer's certificate 'CN=intruder-client'", cluster.A.Output);
    }

    [Fact]
    public async Task AHost_AdvertisingANonLoopbackAddressWithoutTls_RefusesToStart()
    {
        var open = cluster.Launch("--Orleans:AdvertisedIP=" + cluster.Address);

        var exitCode = await open.WaitExitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(2, exitCode);
        Assert.Contains("without TLS", open.Output);
        Assert.Contains("Orleans:Tls:CertificatePath", open.Output);
        Assert.Contains("Orleans:Tls:CaPath", open.Output);
        Assert.DoesNotContain(open.SiloPort, (await cluster.MembershipAsync()).Select(m => m.Port));
    }

    /// <summary>Connects an Orleans client to silo A's gateway and asks the management grain for the active silos.</summary>
    private async Task<Dictionary<SiloAddress, SiloStatus>> CallThroughGatewayAsync(ClusterCredentials? credentials, TimeSpan timeout)
    {
        var builder = new HostApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.UseOrleansClient(client =>
        {
            client.UseStaticClustering(new IPEndPoint(cluster.Address, cluster.A.GatewayPort));
            client.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = cluster.ClusterId;
                o.ServiceId = "stevedore";
            });
            if (credentials is not null)
            {
                client.UseClusterTls(credentials);
            }
        });
        using var host = builder.Build();
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await host.StartAsync(deadline.Token);
            return await host.Services.GetRequiredService<IClusterClient>().GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true)
                .WaitAsync(deadline.Token);
        }
        finally
        {
            await host.StopAsync(CancellationToken.None);
        }
    }

    /// <summary>Sends <paramref name="probe"/> and reads until the peer closes (or 15 s pass: "open").</summary>
    /// <summary>Connects and reads, sending nothing, until <paramref name="expected"/> came, the peer closed, or 15 s passed.</summary>
    private static async Task<byte[]> ListenUntilAsync(IPEndPoint endpoint, string expected)
    {
        using var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(endpoint);
        var received = new MemoryStream();
        var buffer = new byte[4096];
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        try
        {
            while (!Encoding.UTF8.GetString(received.ToArray()).Contains(expected, StringComparison.Ordinal))
            {
                var n = await socket.ReceiveAsync(buffer, SocketFlags.None, deadline.Token);
                if (n == 0)
                {
                    break;
                }

                received.Write(buffer, 0, n);
            }
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException)
        {
        }

        return received.ToArray();
    }

    private static async Task<(byte[] Read, string Ending)> ProbeAsync(IPEndPoint endpoint, byte[] probe)
    {
        using var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(endpoint);
        var received = new MemoryStream();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        try
        {
            await socket.SendAsync(probe, SocketFlags.None, deadline.Token);
            var buffer = new byte[4096];
            while (true)
            {
                var n = await socket.ReceiveAsync(buffer, SocketFlags.None, deadline.Token);
                if (n == 0)
                {
                    return (received.ToArray(), "closed");
                }

                received.Write(buffer, 0, n);
            }
        }
        catch (SocketException ex)
        {
            return (received.ToArray(), ex.SocketErrorCode.ToString());
        }
        catch (OperationCanceledException)
        {
            return (received.ToArray(), "open");
        }
    }
}

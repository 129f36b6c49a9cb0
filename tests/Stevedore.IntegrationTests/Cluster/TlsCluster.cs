using System.Diagnostics;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Stevedore.IntegrationTests.Storage;

namespace Stevedore.IntegrationTests.Cluster;

/// <summary>
/// Two hosts in processes of their own forming a cluster over mutual TLS on one of this machine's non-loopback
/// addresses, with certificates made by <c>Stevedore.Host certs</c> in a temporary folder (deleted at the end).
/// </summary>
public sealed class TlsCluster : IAsyncLifetime
{
    private readonly List<SiloProcess> _silos = [];

    public TestDatabase Db { get; } = new();
    public string ClusterId { get; } = Names.Unique("tls");
    public string CertDir { get; } = Directory.CreateTempSubdirectory("stevedore-certs-").FullName;
    public IPAddress Address { get; } = NonLoopbackAddress();
    public SiloProcess A { get; private set; } = null!;
    public SiloProcess B { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await Scripts.RunAsync("ensure_docker && ensure_busybox_image " + StevedoreServer.Image);
        await Db.InitializeAsync();
        await CertsAsync("ca", "--out", CertDir);
        await CertsAsync("silo", "a", "--out", CertDir, "--address", Address.ToString());
        await CertsAsync("silo", "b", "--out", CertDir, "--address", Address.ToString());
        A = Launch(["--Orleans:AdvertisedIP=" + Address, .. TlsArgs(CertDir, "a")]);
        B = Launch(["--Orleans:AdvertisedIP=" + Address, .. TlsArgs(CertDir, "b")]);
        await Task.WhenAll(A.WaitHealthyAsync(), B.WaitHealthyAsync());
    }

    public async Task DisposeAsync()
    {
        foreach (var silo in _silos)
        {
            await silo.DisposeAsync();
        }

        await Db.DisposeAsync();
        Directory.Delete(CertDir, recursive: true);
    }

    /// <summary>Starts another host against this cluster's database and ClusterId (not awaited); disposed at the end.</summary>
    public SiloProcess Launch(params string[] extra)
    {
        var silo = SiloProcess.Launch(Db.ConnectionString, ClusterId, extra);
        _silos.Add(silo);
        return silo;
    }

    /// <summary>The settings of a silo whose certificate and key are <c>NAME.crt</c>/<c>NAME.key</c> in <paramref name="dir"/>, trusting that folder's CA.</summary>
    public static string[] TlsArgs(string dir, string name) =>
    [
        $"--Orleans:Tls:CertificatePath={Path.Combine(dir, name + ".crt")}",
        $"--Orleans:Tls:KeyPath={Path.Combine(dir, name + ".key")}",
        $"--Orleans:Tls:CaPath={Path.Combine(dir, "ca.crt")}",
    ];

    /// <summary>Runs <c>Stevedore.Host certs ARGS</c> as an operator would.</summary>
    public static async Task CertsAsync(params string[] args)
    {
        var (exitCode, output) = await SiloProcess.RunCommandAsync(TimeSpan.FromMinutes(2), ["certs", .. args]);
        Assert.True(exitCode == 0, $"certs {string.Join(' ', args)} exited with {exitCode}: {output}");
    }

    /// <summary>(silo port, status) of every row this cluster has in Orleans' membership table.</summary>
    public async Task<List<(int Port, int Status)>> MembershipAsync()
    {
        await using var command = Db.DataSource.CreateCommand("SELECT port, status FROM orleans_membership WHERE deployment_id = $1");
        command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = ClusterId });
        var rows = new List<(int, int)>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add((reader.GetInt32(0), reader.GetInt32(1)));
        }

        return rows;
    }

    /// <summary>
    /// Connects to <paramref name="endpoint"/> as a peer holding <c>PEER.crt</c> from <paramref name="dir"/> and checks
    /// that the port speaks TLS, shows <paramref name="expectedSubject"/>'s certificate and took ours.
    /// </summary>
    public static async Task AssertMutualTlsAsync(IPEndPoint endpoint, string dir, string peer, string expectedSubject)
    {
        using var certificate = X509Certificate2.CreateFromPemFile(Path.Combine(dir, peer + ".crt"), Path.Combine(dir, peer + ".key"));
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(endpoint);
        await using var tls = new SslStream(tcp.GetStream());
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "silo",
            ClientCertificates = [certificate],
            RemoteCertificateValidationCallback = (_, _, _, _) => true,
        });

        Assert.Equal(expectedSubject, tls.RemoteCertificate?.Subject);
        Assert.True(tls.IsMutuallyAuthenticated, $"{endpoint} did not ask for our certificate");
    }

    /// <summary>An IPv4 address of this machine beyond loopback: what a silo on a real network advertises.</summary>
    private static IPAddress NonLoopbackAddress() =>
        NetworkInterface.GetAllNetworkInterfaces()
            .Where(n => n.OperationalStatus == OperationalStatus.Up && n.NetworkInterfaceType != NetworkInterfaceType.Loopback)
            .SelectMany(n => n.GetIPProperties().UnicastAddresses)
            .Select(a => a.Address)
            .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a))
        ?? throw new InvalidOperationException("this machine has no IPv4 address beyond loopback for the TLS cluster tests");
}

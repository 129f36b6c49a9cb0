using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Time.Testing;
using Stevedore.Host.Cluster;
using Stevedore.Host.Hosting;

namespace Stevedore.UnitTests;

/// <summary>Who a cluster admits, which TLS settings are refused, and what <c>certs</c> makes.</summary>
public sealed class ClusterTlsTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Year = TimeSpan.FromDays(365);

    private readonly FakeTimeProvider _clock = new(Now);
    private readonly X509Certificate2 _ca;
    private readonly X509Certificate2 _otherCa;
    private readonly string _dir = Directory.CreateTempSubdirectory("stevedore-tls-").FullName;

    public ClusterTlsTests()
    {
        _ca = ClusterCertificates.CreateAuthority("cluster", 10 * Year, _clock);
        _otherCa = ClusterCertificates.CreateAuthority("cluster", 10 * Year, _clock);
    }

    public void Dispose()
    {
        _ca.Dispose();
        _otherCa.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private X509Certificate2 Silo(X509Certificate2 ca, string name = "a", TimeSpan? validity = null) =>
        ClusterCertificates.CreateSilo(ca, name, ["10.0.0.5", "a.internal"], validity ?? Year, _clock);

    private ClusterCredentials Credentials(bool trustCa = true, params string[] allowed) =>
        new(Silo(_ca), trustCa ? [X509CertificateLoader.LoadCertificate(_ca.RawData)] : [], allowed, _clock);

    public static TheoryData<string, string?> Peers => new()
    {
        // case, the refusal it gets (null: admitted)
        { "signed by the cluster CA", null },
        { "signed by another CA with the same name", "not signed by the cluster CA" },
        { "self-signed", "not signed by the cluster CA" },
        { "the other CA itself", "not signed by the cluster CA" },
        { "expired", "is valid only from" },
        { "not yet valid", "is valid only from" },
    };

    [Theory]
    [MemberData(nameof(Peers))]
    public void AClusterCa_AdmitsOnlyCertificatesItSigned_WhileTheyAreValid(string peerCase, string? refusal)
    {
        var credentials = Credentials();
        using var peer = peerCase switch
        {
            "signed by the cluster CA" => Silo(_ca, "b"),
            "signed by another CA with the same name" => Silo(_otherCa, "b"),
            "self-signed" => ClusterCertificates.CreateAuthority("b", Year, _clock),
            "the other CA itself" => X509CertificateLoader.LoadCertificate(_otherCa.RawData),
            "expired" => Silo(_ca, "b", TimeSpan.FromDays(1)),
            "not yet valid" => ClusterCertificates.CreateSilo(_ca, "b", [], Year, new FakeTimeProvider(Now + TimeSpan.FromDays(1))),
            _ => throw new ArgumentOutOfRangeException(nameof(peerCase)),
        };
        if (peerCase == "expired")
        {
            _clock.Advance(TimeSpan.FromDays(2));
        }

        var problem = credentials.Admits(peer, null);

        if (refusal is null)
        {
            Assert.Null(problem);
        }
        else
        {
            Assert.NotNull(problem);
            Assert.Contains(refusal, problem);
        }
    }

    [Fact]
    public void AnAllowList_NarrowsTheCa_AndAloneAdmitsExactlyItsEntries()
    {
        using var listed = Silo(_ca, "b");
        using var unlisted = Silo(_ca, "c");
        using var selfSigned = ClusterCertificates.CreateAuthority("d", Year, _clock);
        var withColons = string.Join(':', ClusterCredentials.Thumbprint(listed).Chunk(2).Select(c => new string(c))).ToLowerInvariant();

        var both = Credentials(trustCa: true, withColons);
        Assert.Null(both.Admits(listed, null));
        Assert.Contains("not on Orleans:Tls:AllowedThumbprints", both.Admits(unlisted, null));

        var pinned = Credentials(trustCa: false, ClusterCredentials.Thumbprint(selfSigned));
        Assert.Null(pinned.Admits(selfSigned, null));
        Assert.NotNull(pinned.Admits(listed, null));
    }

    public static TheoryData<string, string> BadSettings => new()
    {
        // settings (key=value;…), what the refusal names
        { "CaPath=ca.crt", "Orleans:Tls:CertificatePath is not set" },
        { "AllowedThumbprints:0=AB", "Orleans:Tls:CertificatePath is not set" },
        { "CertificatePath=a.crt", "Orleans:Tls:CaPath (the cluster CA's certificate) or Orleans:Tls:AllowedThumbprints is required" },
        { "CertificatePath=missing.crt;CaPath=ca.crt", "Orleans:Tls:CertificatePath 'missing.crt' does not exist" },
        { "CertificatePath=a.crt;KeyPath=missing.key;CaPath=ca.crt", "Orleans:Tls:KeyPath 'missing.key' does not exist" },
        { "CertificatePath=a.crt;CaPath=missing.crt", "Orleans:Tls:CaPath 'missing.crt' does not exist" },
        { "CertificatePath=a.pfx;KeyPath=a.key;CaPath=ca.crt", "a PKCS#12 file" },
        { "CertificatePath=a.crt;AllowedThumbprints:0=12:34", "'12:34' is not a SHA-256 fingerprint" },
    };

    [Theory]
    [MemberData(nameof(BadSettings))]
    public void TheValidator_RefusesSettingsThatCannotWorkOrLeaveTlsOff(string settings, string expected)
    {
        foreach (var file in new[] { "a.crt", "a.key", "a.pfx", "ca.crt" })
        {
            File.WriteAllText(Path.Combine(_dir, file), "");
        }

        var options = new ClusterTlsOptions();
        var thumbprints = new List<string>();
        foreach (var pair in settings.Split(';'))
        {
            var (key, value) = (pair[..pair.IndexOf('=')], pair[(pair.IndexOf('=') + 1)..]);
            var path = Path.Combine(_dir, value);
            switch (key)
            {
                case "CertificatePath": options.CertificatePath = path; break;
                case "KeyPath": options.KeyPath = path; break;
                case "CaPath": options.CaPath = path; break;
                default: thumbprints.Add(value); break;
            }
        }

        options.AllowedThumbprints = [.. thumbprints];

        var result = new ClusterTlsOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains(expected, result.FailureMessage.Replace(_dir + Path.DirectorySeparatorChar, "", StringComparison.Ordinal));
    }

    [Fact]
    public void NoTlsSettings_AreValid_AndLeaveTlsOff()
    {
        var options = new ClusterTlsOptions();
        Assert.True(new ClusterTlsOptionsValidator().Validate(null, options).Succeeded);
        Assert.False(options.Enabled);
    }

    [Fact]
    public void Certs_MakesACaAndSiloCertificatesThatLoad_AndNeverOverwrites()
    {
        var output = new StringWriter();

        Assert.Equal(0, CertsCommand.Run(["ca", "--out", _dir], output));
        Assert.Equal(0, CertsCommand.Run(["silo", "silo-1", "--out", _dir, "--address", "10.0.0.7", "--days", "30"], output));

        var credentials = ClusterCredentials.Load(new ClusterTlsOptions
        {
            CertificatePath = Path.Combine(_dir, "silo-1.crt"),
            KeyPath = Path.Combine(_dir, "silo-1.key"),
            CaPath = Path.Combine(_dir, "ca.crt"),
        });
        Assert.True(credentials.Certificate.HasPrivateKey);
        Assert.InRange(credentials.Certificate.NotAfter.ToUniversalTime() - DateTime.UtcNow, TimeSpan.FromDays(29), TimeSpan.FromDays(30));
        Assert.Contains(ClusterCredentials.Thumbprint(credentials.Certificate), output.ToString());
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(_dir, "silo-1.key")));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(_dir, "ca.key")));
        }

        var before = File.ReadAllText(Path.Combine(_dir, "ca.key"));
        Assert.Contains("exists", Assert.Throws<StartupException>(() => CertsCommand.Run(["ca", "--out", _dir], output)).Message);
        Assert.Equal(before, File.ReadAllText(Path.Combine(_dir, "ca.key")));
        Assert.Contains("must match", Assert.Throws<StartupException>(() => CertsCommand.Run(["silo", "../x", "--out", _dir], output)).Message);
        Assert.Contains("no CA", Assert.Throws<StartupException>(() => CertsCommand.Run(["silo", "b", "--out", Path.Combine(_dir, "empty")], output)).Message);
    }

    [Fact]
    public void ASiloCertificateFromAnotherCa_IsRefusedAtStart_BeforeItTriesToJoin()
    {
        Assert.Equal(0, CertsCommand.Run(["ca", "--out", Path.Combine(_dir, "one")], TextWriter.Null));
        Assert.Equal(0, CertsCommand.Run(["ca", "--out", Path.Combine(_dir, "two")], TextWriter.Null));
        Assert.Equal(0, CertsCommand.Run(["silo", "a", "--out", Path.Combine(_dir, "two")], TextWriter.Null));

        var ex = Assert.Throws<StartupException>(() => ClusterCredentials.Load(new ClusterTlsOptions
        {
            CertificatePath = Path.Combine(_dir, "two", "a.crt"),
            KeyPath = Path.Combine(_dir, "two", "a.key"),
            CaPath = Path.Combine(_dir, "one", "ca.crt"),
        }));

        Assert.Contains("would be refused by its peers", ex.Message);
        Assert.Contains("Orleans:Tls:CaPath", ex.Message);
    }
}

using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Stevedore.Host.Cluster;

/// <summary>
/// Makes the certificates a cluster's mutual TLS needs: a CA for this cluster only, and per silo a certificate it
/// signs that serves both ends of a connection. ECDSA P-256 keys: small, and fast handshakes.
/// </summary>
public static class ClusterCertificates
{
    /// <summary>Certificates start this long before "now", so a peer whose clock is a little behind accepts them.</summary>
    private static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(5);

    public static X509Certificate2 CreateAuthority(string name, TimeSpan validity, TimeProvider? time = null)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(CommonName(name), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: true, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        var now = (time ?? TimeProvider.System).GetUtcNow();
        return request.CreateSelfSigned(now - ClockSkew, now + validity);
    }

    /// <summary>A silo's certificate signed by <paramref name="authority"/> (which must hold its private key).</summary>
    /// <param name="addresses">IP addresses and DNS names the silo is known by (subject alternative names; informative, peers do not check them).</param>
    public static X509Certificate2 CreateSilo(X509Certificate2 authority, string name, IEnumerable<string> addresses, TimeSpan validity, TimeProvider? time = null)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(CommonName(name), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1", "Server Authentication"), new Oid("1.3.6.1.5.5.7.3.2", "Client Authentication")], critical: false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(authority, true, false));
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName(name);
        foreach (var address in addresses)
        {
            if (IPAddress.TryParse(address, out var ip))
            {
                names.AddIpAddress(ip);
            }
            else
            {
                names.AddDnsName(address);
            }
        }

        request.CertificateExtensions.Add(names.Build());
        var now = (time ?? TimeProvider.System).GetUtcNow();
        var notAfter = now + validity < authority.NotAfter.ToUniversalTime() ? now + validity : new DateTimeOffset(authority.NotAfter.ToUniversalTime());
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f;
        using var signed = request.Create(authority, now - ClockSkew, notAfter, serial);
        return signed.CopyWithPrivateKey(key);
    }

    /// <summary>Writes the certificate (PEM) and, when it has one, its private key (PKCS#8 PEM, readable by the owner only).</summary>
    public static void WritePem(X509Certificate2 certificate, string certificatePath, string? keyPath)
    {
        File.WriteAllText(certificatePath, certificate.ExportCertificatePem() + "\n");
        if (keyPath is null)
        {
            return;
        }

        using var key = certificate.GetECDsaPrivateKey() ?? throw new InvalidOperationException("the certificate has no ECDSA private key");
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using var writer = new StreamWriter(keyPath, options);
        writer.Write(key.ExportPkcs8PrivateKeyPem() + "\n");
    }

    /// <summary>Reads a CA written by <see cref="WritePem"/> back with its key.</summary>
    public static X509Certificate2 ReadAuthority(string certificatePath, string keyPath) =>
        X509Certificate2.CreateFromPemFile(certificatePath, keyPath);

    private static X500DistinguishedName CommonName(string name)
    {
        var builder = new X500DistinguishedNameBuilder();
        builder.AddCommonName(name);
        return builder.Build();
    }
}

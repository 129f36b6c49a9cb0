using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Stevedore.Host.Hosting;

namespace Stevedore.Host.Cluster;

/// <summary>
/// This silo's certificate and the rule that admits a peer: its certificate chains to the cluster CA (built against
/// the CA alone, never the machine's trust store) and, when an allow list is set, is on it. The same rule applies
/// to peers that connect to us and to peers we connect to.
/// </summary>
public sealed class ClusterCredentials
{
    private const string ServerAuthentication = "1.3.6.1.5.5.7.3.1";
    private const string ClientAuthentication = "1.3.6.1.5.5.7.3.2";

    private readonly X509Certificate2Collection _authorities;
    private readonly HashSet<string> _allowed;
    private readonly TimeProvider _time;

    public ClusterCredentials(X509Certificate2 certificate, X509Certificate2Collection authorities, IEnumerable<string> allowedThumbprints, TimeProvider? time = null)
    {
        Certificate = certificate;
        _authorities = authorities;
        _allowed = allowedThumbprints.Select(t => ClusterTlsOptionsValidator.NormalizeThumbprint(t) ?? t).ToHashSet(StringComparer.Ordinal);
        _time = time ?? TimeProvider.System;
        if (_authorities.Count == 0 && _allowed.Count == 0)
        {
            throw new ArgumentException("A cluster CA or an allow list is required: otherwise any certificate would be admitted.");
        }
    }

    /// <summary>This silo's certificate, with its private key.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>Reads the files named by valid options and checks that this silo's own certificate would be admitted by its peers.</summary>
    /// <exception cref="StartupException">A file cannot be read or the certificate cannot serve (the message names the key).</exception>
    public static ClusterCredentials Load(ClusterTlsOptions options, TimeProvider? time = null)
    {
        var hint = ClusterTlsOptionsValidator.IsPkcs12(options.CertificatePath!) || !string.IsNullOrWhiteSpace(options.KeyPath)
            ? "" : $" (if its key is in a file of its own, set {ClusterTlsOptions.Key("KeyPath")})";
        var certificate = Read("CertificatePath", options.CertificatePath!, () => LoadCertificate(options), hint);
        if (!certificate.HasPrivateKey)
        {
            throw new StartupException($"{ClusterTlsOptions.Key("CertificatePath")} '{options.CertificatePath}' holds no private key: set {ClusterTlsOptions.Key("KeyPath")} to its PEM key file.");
        }

        if (!AllowsUsage(certificate, ServerAuthentication) || !AllowsUsage(certificate, ClientAuthentication))
        {
            throw new StartupException($"{ClusterTlsOptions.Key("CertificatePath")} '{options.CertificatePath}' is not allowed for both TLS server and client authentication (extended key usage): a silo both accepts and opens connections. Make it with `Stevedore.Host certs silo`.");
        }

        var authorities = new X509Certificate2Collection();
        if (!string.IsNullOrWhiteSpace(options.CaPath))
        {
            authorities = Read("CaPath", options.CaPath, () => LoadAuthorities(options.CaPath));
        }

        var credentials = new ClusterCredentials(certificate, authorities, options.AllowedThumbprints, time);
        if (credentials.Admits(certificate, null) is { } problem)
        {
            throw new StartupException($"This silo's own certificate ({options.CertificatePath}) would be refused by its peers: {problem}.");
        }

        return credentials;
    }

    /// <summary>Why <paramref name="peer"/> is refused, or null when it is admitted.</summary>
    /// <param name="presented">The chain the peer sent, if any: its intermediates may help build the path to the CA.</param>
    public string? Admits(X509Certificate2 peer, X509Chain? presented)
    {
        var now = _time.GetUtcNow().UtcDateTime;
        if (now < peer.NotBefore.ToUniversalTime() || now > peer.NotAfter.ToUniversalTime())
        {
            return $"certificate '{peer.Subject}' is valid only from {peer.NotBefore.ToUniversalTime():u} to {peer.NotAfter.ToUniversalTime():u}";
        }

        if (_allowed.Count > 0 && !_allowed.Contains(Thumbprint(peer)))
        {
            return $"certificate '{peer.Subject}' (SHA-256 {Thumbprint(peer)}) is not on {ClusterTlsOptions.Key("AllowedThumbprints")}";
        }

        if (_authorities.Count == 0)
        {
            return null;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(_authorities);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.DisableCertificateDownloads = true;
        chain.ChainPolicy.VerificationTime = now;
        chain.ChainPolicy.VerificationTimeIgnored = false;
        if (presented is not null)
        {
            foreach (var element in presented.ChainElements)
            {
                chain.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }

        if (chain.Build(peer))
        {
            return null;
        }

        var status = string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation.Trim()).Where(s => s.Length > 0).Distinct());
        return $"certificate '{peer.Subject}' issued by '{peer.Issuer}' is not signed by the cluster CA in {ClusterTlsOptions.Key("CaPath")} ({status})";
    }

    /// <summary>The SHA-256 fingerprint as upper-case hex, the form <see cref="ClusterTlsOptions.AllowedThumbprints"/> compares.</summary>
    public static string Thumbprint(X509Certificate2 certificate) => certificate.GetCertHashString(HashAlgorithmName.SHA256);

    private static X509Certificate2 LoadCertificate(ClusterTlsOptions options)
    {
        var path = options.CertificatePath!;
        var password = string.IsNullOrEmpty(options.CertificatePassword) ? null : options.CertificatePassword;
        if (ClusterTlsOptionsValidator.IsPkcs12(path))
        {
            return X509CertificateLoader.LoadPkcs12FromFile(path, password);
        }

        var keyPath = string.IsNullOrWhiteSpace(options.KeyPath) ? null : options.KeyPath;
        return password is null
            ? X509Certificate2.CreateFromPemFile(path, keyPath)
            : X509Certificate2.CreateFromEncryptedPemFile(path, password, keyPath);
    }

    private static X509Certificate2Collection LoadAuthorities(string path)
    {
        var authorities = new X509Certificate2Collection();
        if (File.ReadAllText(path).Contains("-----BEGIN CERTIFICATE-----", StringComparison.Ordinal))
        {
            authorities.ImportFromPemFile(path);
        }
        else
        {
            authorities.Add(X509CertificateLoader.LoadCertificateFromFile(path));
        }

        return authorities;
    }

    private static T Read<T>(string key, string path, Func<T> read, string hint = "")
    {
        try
        {
            return read();
        }
        catch (Exception ex) when (ex is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            throw new StartupException($"{ClusterTlsOptions.Key(key)} '{path}' could not be read as a certificate{(key == "CertificatePath" ? " with its key" : "")}: {ex.Message}{hint}");
        }
    }

    private static bool AllowsUsage(X509Certificate2 certificate, string oid) =>
        certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>().FirstOrDefault() is not { } usages
        || usages.EnhancedKeyUsages.Cast<Oid>().Any(u => u.Value == oid);
}

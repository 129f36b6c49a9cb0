namespace Stevedore.Host.Cluster;

/// <summary>
/// Mutual TLS between silos and between Orleans clients and gateways. Configuration section <c>Orleans:Tls</c>.
/// TLS is on when <see cref="CertificatePath"/> is set; a silo or gateway port that listens beyond loopback requires it.
/// </summary>
/// <remarks>
/// The usual shape is a certificate authority made for this one cluster (<c>Stevedore.Host certs ca</c>) that signs a
/// certificate per silo (<c>Stevedore.Host certs silo NAME</c>): every silo gets its own certificate and key and the
/// CA's certificate, never the CA's key. A peer is admitted when its certificate chains to <see cref="CaPath"/> and,
/// if <see cref="AllowedThumbprints"/> is set, is also on that list. Do not point <see cref="CaPath"/> at a CA that
/// signs anything else (a company CA): every certificate it ever signed could join the cluster. Certificates are read
/// once at start; restart a silo to pick up a renewed one. Revocation lists are not checked: to shut a silo out,
/// take it off <see cref="AllowedThumbprints"/> or replace the CA.
/// </remarks>
public sealed class ClusterTlsOptions
{
    public const string Section = "Orleans:Tls";

    /// <summary>This silo's certificate: a PKCS#12 file (<c>.pfx</c>, <c>.p12</c>) or PEM (<c>.crt</c>, <c>.pem</c>).</summary>
    public string? CertificatePath { get; set; }

    /// <summary>The PEM private key of <see cref="CertificatePath"/>, unless the key is in that file.</summary>
    public string? KeyPath { get; set; }

    /// <summary>The password of a PKCS#12 file or of an encrypted PEM key. Never logged.</summary>
    public string? CertificatePassword { get; set; }

    /// <summary>The cluster CA's certificate (PEM or DER); every peer's certificate must be signed by it.</summary>
    public string? CaPath { get; set; }

    /// <summary>
    /// SHA-256 fingerprints (hex, colons allowed, as <c>openssl x509 -noout -fingerprint -sha256</c> prints them) of the
    /// only certificates admitted. With <see cref="CaPath"/> a peer must pass both; alone, it pins self-signed
    /// certificates.
    /// </summary>
    public string[] AllowedThumbprints { get; set; } = [];

    public bool Enabled => !string.IsNullOrWhiteSpace(CertificatePath);

    internal static string Key(string name) => $"{Section}:{name}";
}

using Microsoft.Extensions.Options;

namespace Stevedore.Host.Cluster;

/// <summary>Refuses a TLS configuration that cannot work or would be silently off, naming the key to fix.</summary>
public sealed class ClusterTlsOptionsValidator : IValidateOptions<ClusterTlsOptions>
{
    public ValidateOptionsResult Validate(string? name, ClusterTlsOptions options)
    {
        var failures = new List<string>();
        if (!options.Enabled)
        {
            if (!string.IsNullOrWhiteSpace(options.KeyPath) || !string.IsNullOrWhiteSpace(options.CaPath) || options.AllowedThumbprints.Length > 0)
            {
                failures.Add($"{ClusterTlsOptions.Key("CertificatePath")} is not set, so TLS would be off although other {ClusterTlsOptions.Section} keys are set: set it to this silo's certificate.");
            }

            return Result(failures);
        }

        RequireFile(failures, "CertificatePath", options.CertificatePath);
        RequireFile(failures, "KeyPath", options.KeyPath);
        RequireFile(failures, "CaPath", options.CaPath);
        if (string.IsNullOrWhiteSpace(options.CaPath) && options.AllowedThumbprints.Length == 0)
        {
            failures.Add($"{ClusterTlsOptions.Key("CaPath")} (the cluster CA's certificate) or {ClusterTlsOptions.Key("AllowedThumbprints")} is required: without either any certificate would be admitted.");
        }

        if (IsPkcs12(options.CertificatePath!) && !string.IsNullOrWhiteSpace(options.KeyPath))
        {
            failures.Add($"{ClusterTlsOptions.Key("KeyPath")} is for PEM certificates; a PKCS#12 file ({options.CertificatePath}) carries its own key.");
        }

        foreach (var thumbprint in options.AllowedThumbprints)
        {
            if (NormalizeThumbprint(thumbprint) is null)
            {
                failures.Add($"{ClusterTlsOptions.Key("AllowedThumbprints")} entry '{thumbprint}' is not a SHA-256 fingerprint (64 hex digits, colons allowed).");
            }
        }

        return Result(failures);
    }

    /// <summary>Upper-case hex without separators, or null when the text is not 32 bytes of hex.</summary>
    public static string? NormalizeThumbprint(string? text)
    {
        var hex = (text ?? "").Replace(":", "", StringComparison.Ordinal).Replace(" ", "", StringComparison.Ordinal).Trim().ToUpperInvariant();
        return hex.Length == 64 && hex.All(char.IsAsciiHexDigit) ? hex : null;
    }

    public static bool IsPkcs12(string path) =>
        Path.GetExtension(path).ToLowerInvariant() is ".pfx" or ".p12";

    private static void RequireFile(List<string> failures, string key, string? path)
    {
        if (!string.IsNullOrWhiteSpace(path) && !File.Exists(path))
        {
            failures.Add($"{ClusterTlsOptions.Key(key)} '{path}' does not exist or is not a file this process can see.");
        }
    }

    private static ValidateOptionsResult Result(List<string> failures) =>
        failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
}

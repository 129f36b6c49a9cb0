using System.Globalization;
using System.Text.RegularExpressions;
using Stevedore.Host.Hosting;

namespace Stevedore.Host.Cluster;

/// <summary>
/// <c>Stevedore.Host certs</c>: makes the cluster CA and the silo certificates for <c>Orleans:Tls</c>.
/// Never overwrites a file; errors exit with code 2.
/// </summary>
public static partial class CertsCommand
{
    public const string Usage = """
        usage:
          Stevedore.Host certs ca --out DIR [--name "Stevedore cluster CA"] [--days 3650]
              writes DIR/ca.crt (give it to every silo) and DIR/ca.key (keep it off the silos)
          Stevedore.Host certs silo NAME --out DIR [--ca DIR] [--address IP-OR-DNS]... [--days 365]
              writes DIR/NAME.crt and DIR/NAME.key, signed by the CA in --ca (default: --out)
        """;

    public static int Run(string[] args, TextWriter output)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            output.WriteLine(Usage);
            return args.Length == 0 ? 2 : 0;
        }

        var kind = args[0];
        var (positional, options) = Parse(args[1..]);
        var outDir = Single(options, "out") ?? throw Fail("--out DIR is required.");
        Directory.CreateDirectory(outDir);
        switch (kind)
        {
            case "ca":
            {
                Expect(positional, 0);
                var name = Single(options, "name") ?? "Stevedore cluster CA";
                if (name.Length is 0 or > 64 || name.Any(char.IsControl))
                {
                    throw Fail("--name must be 1–64 printable characters.");
                }

                var (crt, key) = (Path.Combine(outDir, "ca.crt"), Path.Combine(outDir, "ca.key"));
                RefuseExisting(crt, key);
                using var authority = ClusterCertificates.CreateAuthority(name, Days(options, 3650));
                ClusterCertificates.WritePem(authority, crt, key);
                output.WriteLine($"wrote {crt} (the cluster CA's certificate: {ClusterTlsOptions.Key("CaPath")} on every silo)");
                output.WriteLine($"wrote {key} (the CA's private key: keep it off the silos; it signs new silo certificates)");
                return 0;
            }

            case "silo":
            {
                Expect(positional, 1);
                var name = positional[0];
                if (!SiloName().IsMatch(name))
                {
                    throw Fail($"silo name '{name}' must match {SiloName()} (it names the files).");
                }

                var caDir = Single(options, "ca") ?? outDir;
                var (caCrt, caKey) = (Path.Combine(caDir, "ca.crt"), Path.Combine(caDir, "ca.key"));
                if (!File.Exists(caCrt) || !File.Exists(caKey))
                {
                    throw Fail($"no CA in {caDir} ({caCrt} and {caKey}): make one with `certs ca --out {caDir}` or point --ca at it.");
                }

                var (crt, key) = (Path.Combine(outDir, name + ".crt"), Path.Combine(outDir, name + ".key"));
                RefuseExisting(crt, key);
                using var authority = ClusterCertificates.ReadAuthority(caCrt, caKey);
                using var silo = ClusterCertificates.CreateSilo(authority, name, options.GetValueOrDefault("address") ?? [], Days(options, 365));
                ClusterCertificates.WritePem(silo, crt, key);
                output.WriteLine($"wrote {crt} and {key} (SHA-256 {ClusterCredentials.Thumbprint(silo)}, valid until {silo.NotAfter.ToUniversalTime():u})");
                output.WriteLine($"silo settings: --{ClusterTlsOptions.Key("CertificatePath")}={crt} --{ClusterTlsOptions.Key("KeyPath")}={key} --{ClusterTlsOptions.Key("CaPath")}={caCrt}");
                return 0;
            }

            default:
                throw Fail($"unknown certs command '{kind}'.\n{Usage}");
        }
    }

    private static (List<string> Positional, Dictionary<string, List<string>> Options) Parse(string[] args)
    {
        var positional = new List<string>();
        var options = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal))
            {
                positional.Add(args[i]);
                continue;
            }

            var name = args[i][2..];
            if (name is not ("out" or "name" or "days" or "ca" or "address"))
            {
                throw Fail($"unknown option --{name}.\n{Usage}");
            }

            if (i + 1 >= args.Length)
            {
                throw Fail($"--{name} needs a value.");
            }

            if (!options.TryGetValue(name, out var values))
            {
                options[name] = values = [];
            }

            values.Add(args[++i]);
        }

        return (positional, options);
    }

    private static string? Single(Dictionary<string, List<string>> options, string name) =>
        options.GetValueOrDefault(name) switch
        {
            null => null,
            [var one] => one,
            _ => throw Fail($"--{name} is given more than once."),
        };

    private static TimeSpan Days(Dictionary<string, List<string>> options, int fallback)
    {
        var text = Single(options, "days");
        if (text is null)
        {
            return TimeSpan.FromDays(fallback);
        }

        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var days) && days is >= 1 and <= 36500
            ? TimeSpan.FromDays(days)
            : throw Fail($"--days must be a whole number from 1 to 36500; got '{text}'.");
    }

    private static void Expect(List<string> positional, int count)
    {
        if (positional.Count != count)
        {
            throw Fail($"expected {count} name{(count == 1 ? "" : "s")} before the options, got {positional.Count}.\n{Usage}");
        }
    }

    private static void RefuseExisting(params string[] paths)
    {
        foreach (var path in paths)
        {
            if (File.Exists(path))
            {
                throw Fail($"{path} exists; remove it first (certs never overwrites a key or certificate).");
            }
        }
    }

    private static StartupException Fail(string message) => new($"certs: {message}");

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,62}\\z")]
    private static partial Regex SiloName();
}

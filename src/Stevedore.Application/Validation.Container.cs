using System.Globalization;
using System.Text.RegularExpressions;

namespace Stevedore.Application;

/// <summary>The job fields that harden its container: capabilities, user, read-only root.</summary>
public static partial class Validation
{
    /// <summary>
    /// Capabilities a job may keep: those of Docker's default set that act only inside the container. Left out: NET_RAW
    /// (raw packets: spoofing on the bridge), MKNOD, SETFCAP, SETPCAP, and everything Docker itself withholds
    /// (SYS_ADMIN, NET_ADMIN, SYS_PTRACE…).
    /// </summary>
    public static readonly IReadOnlyList<string> AllowedCapabilities =
        ["AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "NET_BIND_SERVICE", "SETGID", "SETUID", "SYS_CHROOT"];

    // A user or group: a name (as in the image's /etc/passwd) or a number. \z, not $: "1000\n" must not pass.
    [GeneratedRegex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,31})?\\z")]
    private static partial Regex UserPattern();

    /// <summary>Checks the hardening fields; returns the capabilities as stored (upper case, no CAP_ prefix, sorted, once each).</summary>
    private static IReadOnlyList<string> ContainerFields(JobDraft draft, FieldErrors errors)
    {
        var kept = new SortedSet<string>(StringComparer.Ordinal);
        if (draft.Capabilities is { } capabilities)
        {
            for (var i = 0; i < capabilities.Count; i++)
            {
                var name = capabilities[i].ToUpperInvariant();
                name = name.StartsWith("CAP_", StringComparison.Ordinal) ? name[4..] : name;
                if (AllowedCapabilities.Contains(name))
                {
                    kept.Add(name);
                }
                else
                {
                    errors.Add($"capabilities[{i}]",
                        $"'{Shorten(capabilities[i])}' is not allowed: a job may keep only {string.Join(", ", AllowedCapabilities)} (every other capability is dropped)");
                }
            }
        }

        if (draft.User is { } user && !(UserPattern().IsMatch(user) && user.Split(':').All(IdFits)))
        {
            errors.Add("user", $"'{Shorten(user)}' is not a user: use a uid ('1000'), uid:gid ('1000:1000') or a name the image knows ('nobody')");
        }

        return [.. kept];
    }

    /// <summary>A number must be a valid Linux id; a name is left to the image.</summary>
    private static bool IdFits(string part) =>
        !part.All(char.IsAsciiDigit) || (long.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var id) && id <= int.MaxValue);
}

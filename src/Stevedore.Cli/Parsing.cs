using System.Globalization;
using System.Text.RegularExpressions;

namespace Stevedore.Cli;

/// <summary>The small grammars of the command line: durations and key=value pairs. Pure; tested by table.</summary>
public static partial class Parsing
{
    [GeneratedRegex(@"^(?:(?<h>\d+)h)?(?:(?<m>\d+)m)?(?:(?<s>\d+)s)?$")]
    private static partial Regex DurationPattern();

    /// <summary>
    /// Whole seconds from <c>90</c>, <c>90s</c>, <c>5m</c>, <c>1h</c> or a combination such as <c>1h30m</c>;
    /// null with a message when the text is none of those.
    /// </summary>
    public static long? Seconds(string text, string option, out string? error)
    {
        error = null;
        var trimmed = text.Trim().ToLowerInvariant();
        if (long.TryParse(trimmed, NumberStyles.None, CultureInfo.InvariantCulture, out var plain))
        {
            return plain;
        }

        var match = DurationPattern().Match(trimmed);
        if (trimmed.Length > 0 && match.Success)
        {
            try
            {
                return checked((Part(match, "h") * 3600) + (Part(match, "m") * 60) + Part(match, "s"));
            }
            catch (OverflowException)
            {
                // Falls through to the message.
            }
        }

        error = $"{option} '{text}' is not a duration: use seconds (90) or 90s, 5m, 1h, 1h30m";
        return null;
    }

    /// <summary>Pairs from <c>KEY=VALUE</c> items (the value may hold further '=' and be empty).</summary>
    public static Dictionary<string, string>? Pairs(IEnumerable<string> items, string option, char separator, out string? error)
    {
        error = null;
        var pairs = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var item in items)
        {
            var at = item.IndexOf(separator, StringComparison.Ordinal);
            if (at <= 0)
            {
                error = $"{option} '{item}' must be KEY{separator}VALUE";
                return null;
            }

            pairs[item[..at]] = item[(at + 1)..];
        }

        return pairs;
    }

    private static long Part(Match match, string group) =>
        match.Groups[group].Success ? long.Parse(match.Groups[group].Value, CultureInfo.InvariantCulture) : 0;
}

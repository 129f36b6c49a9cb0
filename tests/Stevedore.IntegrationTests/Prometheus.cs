using System.Globalization;
using System.Text.RegularExpressions;

namespace Stevedore.IntegrationTests;

/// <summary>Reads the Prometheus text a <c>/metrics</c> scrape returns.</summary>
public sealed partial class Prometheus(string text)
{
    [GeneratedRegex("""^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>.*)\})?\s+(?<value>\S+)""")]
    private static partial Regex Line();

    [GeneratedRegex(@"(?<key>[a-zA-Z_][a-zA-Z0-9_]*)=""(?<value>(?:[^""\\]|\\.)*)""")]
    private static partial Regex Label();

    public string Text { get; } = text;

    /// <summary>The value of the one series named <paramref name="name"/> that carries all of <paramref name="labels"/>; null when none does.</summary>
    public double? Value(string name, params (string Key, string Value)[] labels)
    {
        var matches = Series(name).Where(s => labels.All(l => s.Labels.TryGetValue(l.Key, out var v) && v == l.Value)).ToList();
        Assert.True(matches.Count <= 1, $"{matches.Count} series {name} match {string.Join(",", labels)}");
        return matches.Count == 0 ? null : matches[0].Value;
    }

    public IEnumerable<(IReadOnlyDictionary<string, string> Labels, double Value)> Series(string name)
    {
        foreach (var line in Text.Split('\n'))
        {
            var match = Line().Match(line);
            if (!match.Success || match.Groups["name"].Value != name)
            {
                continue;
            }

            var labels = Label().Matches(match.Groups["labels"].Value).ToDictionary(m => m.Groups["key"].Value, m => m.Groups["value"].Value);
            yield return (labels, double.Parse(match.Groups["value"].Value, CultureInfo.InvariantCulture));
        }
    }
}

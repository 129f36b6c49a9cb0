using System.Globalization;

namespace Stevedore.Benchmarks;

/// <summary>Prints one <c>name=value</c> line per figure, and keeps them for the summary.</summary>
public static class Report
{
    private static readonly List<(string Name, double Value)> s_figures = [];

    public static void Figure(string name, double value)
    {
        s_figures.Add((name, value));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name}={Format(value)}"));
    }

    public static double? Get(string name) => s_figures.LastOrDefault(f => f.Name == name) is { Name: not null } f ? f.Value : null;

    public static void Note(string text) => Console.WriteLine($"# {text}");

    /// <summary>
    /// A figure taken once per round: prints the median as <paramref name="name"/>, the spread (max − min over the
    /// median, in %) as <c>name.spread_pct</c>, and min/median/max as a note. Returns the median.
    /// </summary>
    public static double Rounds(string name, IReadOnlyList<double> perRound)
    {
        var median = Percentile(perRound, 0.5);
        Figure(name, median);
        if (perRound.Count > 1)
        {
            Figure($"{name}.spread_pct", 100 * (perRound.Max() - perRound.Min()) / median);
            Note(string.Create(CultureInfo.InvariantCulture,
                $"{name} over {perRound.Count} rounds: min {Format(perRound.Min())}, median {Format(median)}, max {Format(perRound.Max())} ({string.Join(" ", perRound.Select(Format))})"));
        }

        return median;
    }

    private static string Format(double value) =>
        Math.Abs(value) >= 100 ? value.ToString("0", CultureInfo.InvariantCulture) : value.ToString("0.###", CultureInfo.InvariantCulture);

    public static double Percentile(IReadOnlyList<double> values, double p)
    {
        var sorted = values.OrderBy(v => v).ToArray();
        if (sorted.Length == 0)
        {
            return double.NaN;
        }

        var rank = p * (sorted.Length - 1);
        var low = (int)Math.Floor(rank);
        var high = (int)Math.Ceiling(rank);
        return sorted[low] + ((sorted[high] - sorted[low]) * (rank - low));
    }
}

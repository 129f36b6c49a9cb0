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

namespace Stevedore.Benchmarks;

/// <summary>
/// Rounds of contenders measured in turn. Each round runs every contender once; the order rotates from round to
/// round, so no contender always goes first (onto a machine another one just warmed, or just left busy).
/// </summary>
public static class Interleave
{
    public static async Task<IReadOnlyDictionary<string, List<T>>> RoundsAsync<T>(int rounds, params (string Name, Func<int, Task<T>> Run)[] contenders)
    {
        var results = contenders.ToDictionary(c => c.Name, _ => new List<T>(rounds));
        for (var round = 0; round < rounds; round++)
        {
            for (var i = 0; i < contenders.Length; i++)
            {
                var (name, run) = contenders[(round + i) % contenders.Length];
                results[name].Add(await run(round));
            }
        }

        return results;
    }

    /// <summary>Per-round ratios of two contenders' figures (a[i] / b[i]).</summary>
    public static IReadOnlyList<double> Ratios(IReadOnlyList<double> a, IReadOnlyList<double> b) =>
        a.Zip(b, (x, y) => x / y).ToList();
}

using System.Diagnostics;

namespace Stevedore.Benchmarks;

/// <summary>The plainest grain call: the yardstick a task's whole lifecycle is measured against.</summary>
[Alias("stevedore.bench.IPingGrain")]
public interface IPingGrain : IGrainWithIntegerKey
{
    [Alias("Ping")] Task<int> PingAsync(int value);
}

public sealed class PingGrain : Grain, IPingGrain
{
    public Task<int> PingAsync(int value) => Task.FromResult(value + 1);
}

public static class GrainCalls
{
    /// <summary>Concurrent callers, as many as the lifecycle's worker slots.</summary>
    private const int Callers = 64;
    private const int Grains = 1024;

    /// <summary>Round trips per second of <paramref name="n"/> calls to already active grains from <see cref="Callers"/> callers.</summary>
    /// <param name="cpu">When given, gets this process's CPU microseconds per call.</param>
    public static async Task<double> RoundTripsPerSecondAsync(IGrainFactory grains, int n, List<double>? cpu = null)
    {
        var refs = Enumerable.Range(0, Grains).Select(i => grains.GetGrain<IPingGrain>(i)).ToArray();
        await Task.WhenAll(refs.Select(r => r.PingAsync(0))); // activate them outside the clock
        var next = -1;
        BenchEnvironment.Quiesce();
        var cpuBefore = BenchEnvironment.ProcessCpu();
        var sw = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, Callers).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < n)
            {
                if (await refs[i % Grains].PingAsync(i) != i + 1)
                {
                    throw new InvalidOperationException("a ping grain answered wrong");
                }
            }
        })));
        var rate = n / sw.Elapsed.TotalSeconds;
        cpu?.Add((BenchEnvironment.ProcessCpu() - cpuBefore).TotalMicroseconds / n);
        return rate;
    }
}

using System.Diagnostics;

namespace Stevedore.Soak;

/// <summary>The kinds of trouble the soak makes.</summary>
public enum ChaosKind
{
    /// <summary>kill -9 of a random silo, started again a moment later.</summary>
    Silo,

    /// <summary>kill -9 of the Docker Engine (and its containerd), started again a moment later.</summary>
    Engine,

    /// <summary>PostgreSQL stopped (fast: every session ended) and started again a moment later.</summary>
    Postgres,
}

/// <summary>
/// Makes trouble at random (seeded) moments while the load runs: each round does every enabled kind once, in a seeded
/// order, with seeded gaps; after each action it waits until every silo answers healthy again (that wait is the
/// recovery time). It also restarts a silo that exits on its own, and counts that as a crash.
/// </summary>
public sealed class Chaos(IReadOnlyList<SoakSilo> silos, OwnEngine engine, OwnPostgres postgres, IReadOnlyCollection<ChaosKind> kinds, Random random)
{
    private static readonly TimeSpan s_recoveryDeadline = TimeSpan.FromMinutes(2);

    private readonly SemaphoreSlim _silosLock = new(1, 1);

    public Dictionary<ChaosKind, int> Done { get; } = Enum.GetValues<ChaosKind>().ToDictionary(k => k, _ => 0);
    public List<string> Crashes { get; } = [];
    public int Unrecovered { get; private set; }
    public TimeSpan LongestRecovery { get; private set; }

    /// <summary>Acts until <paramref name="until"/>, one action about every <paramref name="meanGap"/>.</summary>
    public async Task RunAsync(DateTimeOffset until, TimeSpan meanGap, CancellationToken ct)
    {
        var round = new Queue<ChaosKind>();
        while (true)
        {
            var gap = meanGap * (0.5 + random.NextDouble());
            if (DateTimeOffset.UtcNow + gap >= until)
            {
                return;
            }

            await Task.Delay(gap, ct);
            if (round.Count == 0)
            {
                foreach (var k in kinds.OrderBy(_ => random.Next()))
                {
                    round.Enqueue(k);
                }
            }

            var kind = round.Dequeue();
            var down = TimeSpan.FromSeconds(0.5 + (random.NextDouble() * 2.5));
            var silo = silos[random.Next(silos.Count)];
            Console.WriteLine($"# {DateTimeOffset.UtcNow:HH:mm:ss} chaos: {Describe(kind, silo)}, down {down.TotalSeconds:0.0} s");
            var clock = Stopwatch.StartNew();
            await ActAsync(kind, silo, down, ct);
            await RecoverAsync(clock, ct);
            Done[kind]++;
        }
    }

    /// <summary>Restarts silos that exited on their own (a crash), until cancelled.</summary>
    public async Task WatchAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            await _silosLock.WaitAsync(ct);
            try
            {
                foreach (var silo in silos.Where(s => s.Crashed))
                {
                    Crashes.Add($"silo {silo.Number} exited on its own at {DateTimeOffset.UtcNow:HH:mm:ss}; its last lines:\n{silo.Tail}");
                    Console.WriteLine($"# {DateTimeOffset.UtcNow:HH:mm:ss} silo {silo.Number} exited on its own; starting it again");
                    silo.Start();
                }
            }
            finally
            {
                _silosLock.Release();
            }

            await Task.Delay(500, ct);
        }
    }

    private static string Describe(ChaosKind kind, SoakSilo silo) => kind switch
    {
        ChaosKind.Silo => $"kill -9 of silo {silo.Number}",
        ChaosKind.Engine => "kill -9 of the Docker Engine",
        _ => "PostgreSQL stopped",
    };

    private async Task ActAsync(ChaosKind kind, SoakSilo silo, TimeSpan down, CancellationToken ct)
    {
        switch (kind)
        {
            case ChaosKind.Silo:
                await _silosLock.WaitAsync(ct);
                try
                {
                    silo.Expected = true;
                    await silo.KillAsync();
                    await Task.Delay(down, ct);
                    silo.Start();
                }
                finally
                {
                    silo.Expected = false;
                    _silosLock.Release();
                }

                break;
            case ChaosKind.Engine:
                await engine.KillAsync();
                await Task.Delay(down, ct);
                await engine.StartAgainAsync();
                break;
            case ChaosKind.Postgres:
                await postgres.StopAsync();
                await Task.Delay(down, ct);
                await postgres.StartAsync();
                break;
        }
    }

    private async Task RecoverAsync(Stopwatch clock, CancellationToken ct)
    {
        try
        {
            await Task.WhenAll(silos.Select(s => s.WaitHealthyAsync(s_recoveryDeadline, ct)));
        }
        catch (Exception ex) when (ex is TimeoutException or InvalidOperationException)
        {
            Unrecovered++;
            Console.WriteLine($"# not recovered: {ex.Message}");
        }

        if (clock.Elapsed > LongestRecovery)
        {
            LongestRecovery = clock.Elapsed;
        }
    }
}

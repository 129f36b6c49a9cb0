using System.Globalization;
using System.Runtime.InteropServices;

namespace Stevedore.Soak;

/// <summary>scripts/soak --minutes N [--seed S] [--skip silo,engine,postgres] [--silos 3] [--callers 2]</summary>
public static class SoakProgram
{
    public static async Task<int> Main(string[] args)
    {
        var minutes = 10.0;
        var seed = Random.Shared.Next(1, 1_000_000);
        var skip = new HashSet<ChaosKind>();
        var silos = 3;
        var callers = 2;
        for (var i = 0; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : "";
            switch (args[i])
            {
                case "--minutes" when double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var m) && m > 0 && m <= 24 * 60:
                    minutes = m;
                    i++;
                    break;
                case "--seed" when int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var s):
                    seed = s;
                    i++;
                    break;
                case "--skip" when value.Split(',').All(k => Enum.TryParse<ChaosKind>(k, ignoreCase: true, out _)):
                    skip.UnionWith(value.Split(',').Select(k => Enum.Parse<ChaosKind>(k, ignoreCase: true)));
                    i++;
                    break;
                case "--silos" when int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= 9:
                    silos = n;
                    i++;
                    break;
                case "--callers" when int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var c) && c is >= 1 and <= 64:
                    callers = c;
                    i++;
                    break;
                default:
                    Console.Error.WriteLine($"soak: '{args[i]} {value}' is not understood. Usage: scripts/soak --minutes N (0 < N ≤ 1440, default 10) " +
                        "[--seed S] [--skip silo,engine,postgres] [--silos 1-9, default 3] [--callers 1-64, default 2]");
                    return 2;
            }
        }

        var state = Environment.GetEnvironmentVariable("STEVEDORE_STATE") ?? Path.Combine(Path.GetTempPath(), "stevedore");
        // scripts/soak names the folder, so its cleanup touches this soak's processes alone, never another running beside.
        var named = Environment.GetEnvironmentVariable("STEVEDORE_SOAK_ID");
        var id = named is { Length: > 0 and <= 32 } && named.All(char.IsAsciiLetterOrDigit) ? named : Guid.NewGuid().ToString("N")[..8];
        var folder = Path.Combine(state, $"soak-{id}");
        Directory.CreateDirectory(folder);
        using var stop = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            stop.Cancel();
        };
        using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            stop.Cancel();
        });

        var soak = new SoakRun(new SoakSettings(minutes, seed, [.. Enum.GetValues<ChaosKind>().Except(skip)], silos, callers), folder);
        var exit = 1;
        try
        {
            exit = await soak.RunAsync(stop.Token) == 0 ? 0 : 1;
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            Console.WriteLine("# interrupted: stopping everything the soak started");
            exit = 130;
        }
        catch (Exception ex)
        {
            Console.WriteLine($"# the soak failed: {ex}");
        }
        finally
        {
            try
            {
                await soak.TearDownAsync();
            }
            catch (Exception ex)
            {
                Console.WriteLine($"# cleaning up failed: {ex.Message}");
                exit = exit == 0 ? 1 : exit;
            }
        }

        if (exit == 0)
        {
            Directory.Delete(folder, recursive: true);
        }
        else
        {
            Console.WriteLine($"# the silos' logs are kept in {folder}");
        }

        return exit;
    }
}

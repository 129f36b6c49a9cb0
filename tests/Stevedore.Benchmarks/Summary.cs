namespace Stevedore.Benchmarks;

/// <summary>The figures against their targets, for a person.</summary>
public static class Summary
{
    private static readonly (string Name, string Target, Func<double, bool> Met)[] s_targets =
    [
        ("cold.ratio_p50", "<= 0.70", v => v <= 0.70),
        ("cold.ratio_engine_p50", "<= 0.85", v => v <= 0.85),
        ("parallel.ratio", ">= 0.95", v => v >= 0.95),
        ("hot.p50_ms", "<= 5", v => v <= 5),
        ("hot.p99_ms", "<= 20", v => v <= 20),
        ("hot.tasks_per_s", ">= 500", v => v >= 500),
        ("control.memory.tasks_per_s", ">= 10000", v => v >= 10_000),
        ("control.memory.vs_grain_calls", ">= 0.1", v => v >= 0.1),
        ("control.memory.vs_grain_calls.spread_pct", "<= 20", v => v <= 20),
        ("control.postgres.batch.tasks_per_s", ">= 1500", v => v >= 1500),
        ("control.postgres_vs_hangfire", ">= 20", v => v >= 20),
        ("enqueue.postgres.single_p99_ms", "<= 20", v => v <= 20),
        ("dispatch.p99_ms", "<= 5", v => v <= 5),
        ("memory.bytes_per_queued_task", "<= 1024", v => v <= 1024),
        ("retention.janitor_vs_off", ">= 0.90", v => v >= 0.90),
        ("scrape.vs_quiet", ">= 0.95", v => v >= 0.95),
        ("steady.table_mib.growth", "<= 1.10", v => v <= 1.10),
        ("steady.heap_mib.growth", "<= 1.25", v => v <= 1.25),
    ];

    public static void Print()
    {
        Console.WriteLine();
        Console.WriteLine("figure                                    value        target    ");
        foreach (var (name, target, met) in s_targets)
        {
            if (Report.Get(name) is { } value)
            {
                Console.WriteLine($"{name,-42}{value,-13:0.###}{target,-10}{(met(value) ? "met" : "MISSED")}");
            }
        }
    }
}

using System.Diagnostics;
using System.Globalization;

namespace Stevedore.Benchmarks;

/// <summary>
/// The machine the figures were taken on, and how busy it was while they were: the CPU model and cores once, then
/// after each scenario the load average and, from <c>/proc/stat</c> since the previous note, how much of the CPU was
/// busy, how much of it this process used and how much the hypervisor stole. A figure taken while other processes held
/// the CPU (or the host stole it) is not the same figure as one taken on an idle machine.
/// </summary>
public static class MachineState
{
    private static CpuTimes s_last = CpuTimes.Read();
    private static TimeSpan s_lastOwn = Process.GetCurrentProcess().TotalProcessorTime;

    public static void NoteMachine(string? docker, string? postgres)
    {
        var model = File.Exists("/proc/cpuinfo")
            ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim()
            : null;
        Report.Note(
            $"machine: {model ?? "unknown CPU"}, {Environment.ProcessorCount} cores, " +
            $"{GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1 << 30)} GiB, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, " +
            $"Docker {docker ?? "?"}, PostgreSQL {postgres ?? "?"}; load average {LoadAverage()}");
        Mark();
    }

    /// <summary>Notes how busy the machine was since the previous note (or the start).</summary>
    public static void NoteSince(string scenario)
    {
        var now = CpuTimes.Read();
        var own = Process.GetCurrentProcess().TotalProcessorTime;
        var total = now.Total - s_last.Total;
        if (total <= 0)
        {
            return;
        }

        // /proc/stat counts in clock ticks (USER_HZ, 100 per second on Linux); the process time is in real time.
        var ownTicks = (own - s_lastOwn).TotalSeconds * 100;
        var busy = 100.0 * (total - (now.Idle - s_last.Idle)) / total;
        var steal = 100.0 * (now.Steal - s_last.Steal) / total;
        var mine = Math.Min(busy, 100.0 * ownTicks / total);
        Report.Note(string.Create(CultureInfo.InvariantCulture,
            $"machine during {scenario}: CPU busy {busy:0} % (this process {mine:0} %, other processes {busy - mine:0} % — the database, the engine and wrk among them), steal {steal:0.0} %, load average {LoadAverage()}"));
        s_last = now;
        s_lastOwn = own;
    }

    private static void Mark()
    {
        s_last = CpuTimes.Read();
        s_lastOwn = Process.GetCurrentProcess().TotalProcessorTime;
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "?";

    /// <summary>The first line of <c>/proc/stat</c>: all CPUs, in clock ticks.</summary>
    private readonly record struct CpuTimes(long Total, long Idle, long Steal)
    {
        public static CpuTimes Read()
        {
            if (!File.Exists("/proc/stat"))
            {
                return default;
            }

            var fields = File.ReadLines("/proc/stat").First()
                .Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1)
                .Select(f => long.Parse(f, CultureInfo.InvariantCulture)).ToArray();
            // user nice system idle iowait irq softirq steal [guest guest_nice: already inside user and nice]
            var total = fields.Take(8).Sum();
            return new CpuTimes(total, fields[3] + fields[4], fields.Length > 7 ? fields[7] : 0);
        }
    }
}

using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Stevedore.Storage;

namespace Stevedore.Benchmarks;

/// <summary>How close to its occurrence a schedule fires: occurrence → task created, and → container started.</summary>
public static class TriggerScenarios
{
    private const int Schedules = 2;

    public static async Task FiringAsync(bool quick)
    {
        var seconds = quick ? 8 : 60; // two every-second schedules: 16 or 120 occurrences
        await BenchEnvironment.ShellAsync($"ensure_docker && ensure_busybox_image {BenchEnvironment.Image}");
        await using var app = await BenchEnvironment.StartHostAsync(new() { ["Stevedore:Worker:Slots"] = "4" });
        using var http = new HttpClient { BaseAddress = BenchEnvironment.HttpAddress(app) };
        var tasks = app.Services.GetRequiredService<ITaskStore>();
        var content = app.Services.GetRequiredService<ITaskContentStore>();
        // The container prints the host kernel's uptime (containers share the kernel): a clock it can read with 10 ms
        // resolution, which this process turns into wall-clock time.
        await SucceedAsync(await http.PutAsJsonAsync("/v1/jobs/fire", new { image = BenchEnvironment.Image, command = new[] { "cat", "/proc/uptime" } }));
        var boot = DateTimeOffset.UtcNow - Uptime(File.ReadAllText("/proc/uptime"));

        var ids = new List<string>();
        for (var i = 0; i < Schedules; i++)
        {
            var created = await http.PostAsJsonAsync("/v1/jobs/fire/schedules", new { everySeconds = 1, maxRuns = seconds, overlap = "allow" });
            ids.Add((await (await SucceedAsync(created)).Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!);
        }

        var records = new List<TaskRecord>();
        var deadline = DateTime.UtcNow.AddSeconds(seconds + 120);
        while (true)
        {
            records.Clear();
            foreach (var id in ids)
            {
                records.AddRange((await tasks.QueryAsync(new TaskQuery { Job = "fire", Label = new("schedule", id), Limit = 1000 })).Items);
            }

            if (records.Count == Schedules * seconds && records.All(t => t.Status.IsTerminal()))
            {
                break;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException($"only {records.Count(t => t.Status.IsTerminal())} of {Schedules * seconds} scheduled tasks ended");
            }

            await Task.Delay(200);
        }

        var toCreated = new List<double>();
        var toContainer = new List<double>();
        foreach (var task in records)
        {
            var occurrence = DateTimeOffset.Parse(task.Labels["occurrence"], CultureInfo.InvariantCulture);
            toCreated.Add((task.CreatedAt - occurrence).TotalMilliseconds);
            var (chunks, _) = await content.ReadLogAsync(task.Id, 0, maxBytes: 1 << 20); // a line or two: one page
            var output = string.Concat(chunks.Where(c => c.Stream == LogStream.Stdout).Select(c => System.Text.Encoding.UTF8.GetString(c.Data.Span)));
            toContainer.Add((boot + Uptime(output) - occurrence).TotalMilliseconds);
        }

        Report.Figure("fire.occurrences", records.Count);
        Report.Figure("fire.created_p50_ms", Report.Percentile(toCreated, 0.5));
        Report.Figure("fire.created_p99_ms", Report.Percentile(toCreated, 0.99));
        Report.Figure("fire.container_p50_ms", Report.Percentile(toContainer, 0.5));
        Report.Figure("fire.container_p99_ms", Report.Percentile(toContainer, 0.99));
        Report.Note($"fire: {Schedules} every-second schedules for {seconds} s on the embedded host; occurrence → task record created, and → the container's first instruction (host uptime, 10 ms resolution)");
        await app.StopAsync();
    }

    private static async Task<HttpResponseMessage> SucceedAsync(HttpResponseMessage response) =>
        response.IsSuccessStatusCode
            ? response
            : throw new InvalidOperationException($"{response.RequestMessage?.RequestUri} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");

    private static TimeSpan Uptime(string procUptime) =>
        TimeSpan.FromSeconds(double.Parse(procUptime.Split(' ', StringSplitOptions.RemoveEmptyEntries)[0], CultureInfo.InvariantCulture));
}

using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;
using Stevedore.IntegrationTests.Storage;
using Xunit.Abstractions;

namespace Stevedore.IntegrationTests.Cluster;

/// <summary>A schedule on a PostgreSQL cluster of separate silo processes, whose silo dies by SIGKILL.</summary>
[Collection(ClusterCollection.Name)]
public class ScheduleClusterTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly TestDatabase _db = new();
    private readonly List<SiloProcess> _silos = [];
    private readonly string _clusterId = "s-" + Guid.NewGuid().ToString("N")[..8];

    public Task InitializeAsync() => _db.InitializeAsync();

    public async Task DisposeAsync()
    {
        foreach (var silo in _silos)
        {
            await silo.DisposeAsync();
        }

        await _db.DisposeAsync();
    }

    [Fact]
    public async Task KillingTheSiloHoldingAnEverySecondSchedule_ItFiresOnFromAnother_WithinSeconds_NeverTwicePerOccurrence()
    {
        // The container driver plays no part here (schedules only create tasks): the in-process one keeps the load low.
        foreach (var _ in new[] { 1, 2 })
        {
            _silos.Add(await SiloProcess.StartAsync(_db.ConnectionString, _clusterId, "--Stevedore:Worker:Driver=fake"));
        }

        var job = Names.Unique("tick");
        await _silos[0].PutJobAsync(job, new { image = "fake/ok" });
        var created = await _silos[0].Http.PostAsJsonAsync($"/v1/jobs/{job}/schedules", new { everySeconds = 1, overlap = "allow" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;

        var holder = await WaitHolderAsync(id, except: null);
        var survivor = _silos.Single(s => s != holder);
        await WaitTasksAsync(survivor, id, t => t.Count >= 3, "three runs before the kill");

        holder.Kill();
        var killedAt = DateTimeOffset.UtcNow;
        var resumed = await WaitTasksAsync(survivor, id, t => t.Any(o => o > killedAt.AddSeconds(1)), "a run after the kill", seconds: 60);
        var firstAfter = resumed.Where(o => o > killedAt.AddSeconds(1)).Min();
        var stoppedSince = resumed.Where(o => o <= killedAt).Max();
        output.WriteLine($"last occurrence before the kill {stoppedSince:O}; first after {firstAfter:O} (created {(firstAfter - killedAt).TotalSeconds:0.0} s after the kill)");
        await WaitTasksAsync(survivor, id, t => t.Count(o => o > firstAfter) >= 3, "three more runs on the survivor");

        Assert.Equal(survivor, await WaitHolderAsync(id, except: holder));
        await using (var duplicates = _db.DataSource.CreateCommand(
            "SELECT labels->>'occurrence', count(*) FROM stevedore_tasks WHERE labels->>'schedule' = $1 GROUP BY 1 HAVING count(*) > 1"))
        {
            duplicates.Parameters.AddWithValue(id);
            await using var reader = await duplicates.ExecuteReaderAsync();
            Assert.False(await reader.ReadAsync(), $"occurrence {(reader.HasRows ? reader.GetString(0) : "")} made more than one task");
        }

        // Every run on the survivor after it took over is one second after the one before: none missing, none twice.
        var after = (await OccurrencesAsync(survivor, id)).Where(o => o >= firstAfter).ToList();
        Assert.All(after.Zip(after.Skip(1)), pair => Assert.Equal(TimeSpan.FromSeconds(1), pair.Second - pair.First));
        Assert.InRange((firstAfter - killedAt).TotalSeconds, 0, 20);
        Assert.Equal(HttpStatusCode.NoContent, (await survivor.Http.DeleteAsync($"/v1/schedules/{id}")).StatusCode);
    }

    private async Task<SiloProcess> WaitHolderAsync(string id, SiloProcess? except)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            await using var command = _db.DataSource.CreateCommand("SELECT silo FROM stevedore_schedules WHERE id = $1");
            command.Parameters.AddWithValue(id);
            if (await command.ExecuteScalarAsync() is string silo
                && _silos.FirstOrDefault(s => s != except && silo.Contains($":{s.SiloPort}@", StringComparison.Ordinal)) is { } holder)
            {
                return holder;
            }

            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(60), $"no live silo holds schedule {id}");
            await Task.Delay(100);
        }
    }

    private static async Task<List<DateTimeOffset>> OccurrencesAsync(SiloProcess via, string id)
    {
        var page = await via.Http.GetFromJsonAsync<JsonElement>($"/v1/tasks?label=schedule:{id}&limit=1000");
        return page.GetProperty("items").EnumerateArray()
            .Select(t => t.GetProperty("labels").GetProperty("occurrence").GetDateTimeOffset())
            .Order()
            .ToList();
    }

    private static async Task<List<DateTimeOffset>> WaitTasksAsync(SiloProcess via, string id, Func<List<DateTimeOffset>, bool> condition, string what, int seconds = 30)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var occurrences = await OccurrencesAsync(via, id);
            if (condition(occurrences))
            {
                return occurrences;
            }

            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(seconds), $"schedule {id}: no {what} within {seconds} s ({occurrences.Count} tasks):\n{via.Output}");
            await Task.Delay(100);
        }
    }
}

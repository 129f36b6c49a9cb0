using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;

namespace Stevedore.IntegrationTests.Storage;

/// <summary>A host in this process on PostgreSQL: the Orleans providers on our schema, and a task end to end.</summary>
public sealed class PostgresServer : StevedoreServer
{
    private readonly TestDatabase _db = new();

    public TestDatabase Database => _db;

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Stevedore:Storage"] = "Postgres",
        ["ConnectionStrings:Postgres"] = _db.ConnectionString,
        ["Stevedore:Worker:Slots"] = "2",
        // Schedule reminders tick every 2 s here (1 minute by default), so a test sees one wake a schedule.
        ["Stevedore:Schedules:ReminderPeriod"] = "00:00:02",
    };

    public string ConnectionString => _db.ConnectionString;

    public Npgsql.NpgsqlDataSource DataSource => _db.DataSource;

    protected override Task PrepareAsync() => _db.InitializeAsync();

    protected override Task CleanupAsync() => _db.DisposeAsync();
}

public class PostgresHostTests(PostgresServer server) : IClassFixture<PostgresServer>
{
    [Fact]
    public async Task ReminderTable_RoundTripsThroughTheAdoNetProvider_OnOurSchema()
    {
        var table = server.Services.GetRequiredService<IReminderTable>();
        var grain = GrainId.Create("schedule", Guid.NewGuid().ToString("N"));
        var start = DateTime.UtcNow.AddMinutes(1);

        var etag = await table.UpsertRow(new ReminderEntry { GrainId = grain, ReminderName = "tick", StartAt = start, Period = TimeSpan.FromMinutes(5) });
        var read = await table.ReadRow(grain, "tick");
        Assert.NotNull(read);
        Assert.NotNull(etag);
        var rows = await table.ReadRows(grain);

        Assert.Equal(TimeSpan.FromMinutes(5), read.Period);
        Assert.Equal(etag, read.ETag);
        Assert.Equal(start, read.StartAt.ToUniversalTime(), TimeSpan.FromMilliseconds(1));
        Assert.Single(rows.Reminders);
        Assert.False(await table.RemoveRow(grain, "tick", "999"));
        Assert.True(await table.RemoveRow(grain, "tick", etag!));
        Assert.Empty((await table.ReadRows(grain)).Reminders);
    }

    [Fact]
    public async Task ATask_RunsEndToEnd_WithEverythingInPostgres()
    {
        var job = $"pg-{Guid.NewGuid().ToString("N")[..8]}";
        await server.PutJobAsync(job, new { image = StevedoreServer.Image, command = new[] { "sh", "-c", "cat; echo -n ok > $STEVEDORE_RESULT_FILE" } });

        var id = await server.EnqueueAsync(job, new { payload = "from postgres", labels = new Dictionary<string, string> { ["via"] = "pg" } });
        var task = await server.WaitForEndAsync(id);

        Assert.Equal("succeeded", task.GetProperty("status").GetString());
        Assert.Equal("from postgres", await server.Http.GetStringAsync($"/v1/tasks/{id}/log"));
        Assert.Equal("ok", await server.Http.GetStringAsync($"/v1/tasks/{id}/result"));
        var listed = await server.Http.GetFromJsonAsync<JsonElement>($"/v1/tasks?job={job}&label=via:pg&status=succeeded");
        Assert.Equal(id, listed.GetProperty("items")[0].GetProperty("id").GetString());
        var stats = await server.Http.GetFromJsonAsync<JsonElement>($"/v1/jobs/{job}/stats");
        Assert.Equal(1, stats.GetProperty("counts").GetProperty("succeeded").GetInt64());
    }

    [Fact]
    public async Task ConcurrentEnqueuesWithOneKey_StoreOneTask_WithThePayloadOfTheOneAnswered202()
    {
        var job = $"pg-idem-{Guid.NewGuid().ToString("N")[..8]}";
        await server.PutJobAsync(job, new { image = StevedoreServer.Image });
        await server.Http.PostAsync($"/v1/jobs/{job}/pause", null);
        var content = server.Services.GetRequiredService<Stevedore.Storage.ITaskContentStore>();
        for (var round = 0; round < 40; round++)
        {
            var responses = await Task.WhenAll(Enumerable.Range(0, 4).Select(i => server.Http.PostAsJsonAsync(
                $"/v1/jobs/{job}/tasks", new { idempotencyKey = $"k{round}", payload = $"payload {i}" })));

            var created = Assert.Single(responses, r => r.StatusCode == System.Net.HttpStatusCode.Accepted);
            Assert.All(responses, r => Assert.True(r.IsSuccessStatusCode, r.StatusCode.ToString()));
            var ids = await Task.WhenAll(responses.Select(async r => (await r.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()));
            var id = Assert.Single(ids.Distinct());
            var payload = System.Text.Encoding.UTF8.GetString((await content.GetPayloadAsync(id!))!.Value.Span);
            Assert.Equal($"payload {Array.IndexOf(responses, created)}", payload);
        }
    }

    [Fact]
    public async Task OneKeyTwiceInABatch_GivesOneTask()
    {
        var job = $"pg-batch-{Guid.NewGuid().ToString("N")[..8]}";
        await server.PutJobAsync(job, new { image = StevedoreServer.Image, command = new[] { "true" } });

        var response = await server.Http.PostAsJsonAsync($"/v1/jobs/{job}/tasks:batch",
            new { tasks = new object[] { new { idempotencyKey = "twice" }, new { }, new { idempotencyKey = "twice" } } });

        Assert.Equal(System.Net.HttpStatusCode.Accepted, response.StatusCode);
        var ids = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("ids").EnumerateArray().Select(e => e.GetString()!).ToList();
        Assert.Equal(ids[0], ids[2]);
        Assert.Equal("succeeded", (await server.WaitForEndAsync(ids[0])).GetProperty("status").GetString());
    }

    [Fact]
    public async Task AScheduleReminder_OnTheAdoNetTable_WakesTheScheduleToFire()
    {
        var job = $"pg-{Guid.NewGuid().ToString("N")[..8]}";
        await server.PutJobAsync(job, new { image = StevedoreServer.Image, command = new[] { "cat" } });
        // Its only occurrence lies beyond the timer's horizon (1.5 reminder periods): only a reminder tick, read from
        // PostgreSQL's reminder table, brings it within reach of the grain timer.
        var startAt = DateTimeOffset.UtcNow.AddSeconds(8);
        var created = await server.Http.PostAsJsonAsync($"/v1/jobs/{job}/schedules", new { everySeconds = 60, startAt, maxRuns = 1, payload = "woken" });
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        Assert.Equal(1L, await RemindersOfAsync(id));

        var deadline = System.Diagnostics.Stopwatch.StartNew();
        JsonElement schedule;
        do
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(30), $"schedule {id} did not fire within 30 s");
            await Task.Delay(200);
            schedule = await server.Http.GetFromJsonAsync<JsonElement>($"/v1/schedules/{id}");
        }
        while (schedule.GetProperty("state").GetString() != "finished");

        var taskId = schedule.GetProperty("lastTaskId").GetString()!;
        var task = await server.WaitForEndAsync(taskId);
        Assert.Equal("succeeded", task.GetProperty("status").GetString());
        Assert.Equal("woken", await server.Http.GetStringAsync($"/v1/tasks/{taskId}/log"));
        Assert.Equal(startAt.ToUnixTimeMilliseconds(), schedule.GetProperty("lastRunAt").GetDateTimeOffset().ToUnixTimeMilliseconds());
        // Finished: its reminder is gone from the table.
        Assert.Equal(0L, await RemindersOfAsync(id));
    }

    private async Task<long> RemindersOfAsync(string scheduleId)
    {
        await using var command = server.DataSource.CreateCommand("SELECT count(*) FROM orleans_reminders WHERE grain_id LIKE '%' || $1");
        command.Parameters.AddWithValue(scheduleId);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}

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
    };

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
}

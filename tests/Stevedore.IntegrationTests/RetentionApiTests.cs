using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Stevedore.IntegrationTests;

/// <summary>Deleting finished tasks by hand, redriving dead letters, and a job's own retention, over real HTTP.</summary>
[Collection(ServerCollection.Name)]
public class RetentionApiTests(StevedoreServer server)
{
    [Fact]
    public async Task DeleteTask_RemovesAFinishedTask_WithItsLogAndResult_AndRefusesAQueuedOne()
    {
        var job = Names.Unique("delete");
        await server.PutJobAsync(job, new { image = StevedoreServer.Image, command = new[] { "sh", "-c", "echo out; echo r > $STEVEDORE_RESULT_FILE" } });
        var id = await server.EnqueueAsync(job, new { payload = "p", idempotencyKey = "once" });
        await server.WaitForEndAsync(id);
        Assert.Equal("out\n", await server.Http.GetStringAsync($"/v1/tasks/{id}/log"));

        var deleted = await server.Http.DeleteAsync($"/v1/tasks/{id}");

        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await server.Http.GetAsync($"/v1/tasks/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await server.Http.GetAsync($"/v1/tasks/{id}/log")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await server.Http.GetAsync($"/v1/tasks/{id}/result")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await server.Http.DeleteAsync($"/v1/tasks/{id}")).StatusCode);
        // Its idempotency key went with it: the same key makes a new task.
        Assert.NotEqual(id, await server.EnqueueAsync(job, new { payload = "p", idempotencyKey = "once" }));

        var paused = Names.Unique("held");
        await server.PutJobAsync(paused, new { image = StevedoreServer.Image });
        await server.Http.PostAsync($"/v1/jobs/{paused}/pause", null);
        var queued = await server.EnqueueAsync(paused);
        var refused = await server.Http.DeleteAsync($"/v1/tasks/{queued}");
        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        Assert.Contains("cancel", (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.OK, (await server.Http.GetAsync($"/v1/tasks/{queued}")).StatusCode);
    }

    [Fact]
    public async Task Redrive_QueuesEachDeadLetterOnce_AndLeavesSucceededTasksAlone()
    {
        var job = Names.Unique("redrive");
        await server.PutJobAsync(job, new { image = StevedoreServer.Image, command = new[] { "sh", "-c", "test \"$(cat)\" = ok" } });
        var failed = new[] { await server.EnqueueAsync(job, new { payload = "no" }), await server.EnqueueAsync(job, new { payload = "nope" }) };
        var succeeded = await server.EnqueueAsync(job, new { payload = "ok" });
        foreach (var id in failed.Append(succeeded))
        {
            await server.WaitForEndAsync(id);
        }

        var first = await (await server.Http.PostAsync($"/v1/jobs/{job}/tasks:redrive", null)).Content.ReadFromJsonAsync<JsonElement>();
        var again = await (await server.Http.PostAsync($"/v1/jobs/{job}/tasks:redrive", null)).Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal((2, 0, false), (first.GetProperty("queued").GetInt32(), first.GetProperty("alreadyRedriven").GetInt32(), first.GetProperty("more").GetBoolean()));
        Assert.Equal(0, again.GetProperty("queued").GetInt32());
        var retries = (await server.Http.GetFromJsonAsync<JsonElement>($"/v1/tasks?job={job}")).GetProperty("items").EnumerateArray()
            .Where(t => t.GetProperty("retryOf").ValueKind == JsonValueKind.String).Select(t => t.GetProperty("retryOf").GetString()).ToList();
        Assert.Equal(failed.Order(), retries.Order());
        Assert.Equal(HttpStatusCode.Conflict, (await server.Http.PostAsync($"/v1/tasks/{succeeded}/redrive", null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await server.Http.PostAsync($"/v1/tasks/{failed[0]}/redrive", null)).StatusCode);
    }

    [Fact]
    public async Task RetentionDays_IsPartOfTheJob()
    {
        var job = Names.Unique("keep");
        var created = await server.PutJobAsync(job, new { image = StevedoreServer.Image, retentionDays = 30 });
        Assert.Equal(30, created.GetProperty("retentionDays").GetInt32());

        var invalid = await server.Http.PutAsJsonAsync($"/v1/jobs/{job}", new { image = StevedoreServer.Image, retentionDays = 0 });
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        Assert.True((await invalid.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").TryGetProperty("retentionDays", out _));
    }
}

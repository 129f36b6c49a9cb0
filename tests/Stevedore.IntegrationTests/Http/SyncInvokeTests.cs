using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Stevedore.IntegrationTests.Http;

/// <summary><c>POST /v1/jobs/{name}/tasks?wait=</c> over real HTTP with real containers.</summary>
[Collection(ServerCollection.Name)]
public class SyncInvokeTests(StevedoreServer server)
{
    private HttpClient Http => server.Http;

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private async Task<string> JobAsync(string prefix, params string[] command)
    {
        var name = Names.Unique(prefix);
        await server.PutJobAsync(name, new { image = StevedoreServer.Image, command, timeoutSeconds = 60 });
        return name;
    }

    [Fact]
    public async Task Wait_AnswersTheFinishedTask_WithItsResultInline()
    {
        var job = await JobAsync("sync", "sh", "-c", "echo hi; printf 'done:%s' \"$(cat)\" > $STEVEDORE_RESULT_FILE");
        var response = await Http.PostAsync($"/v1/jobs/{job}/tasks?wait=60", Json("""{"payload":"abc"}"""));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        var task = JsonDocument.Parse(body).RootElement;
        Assert.Equal("succeeded", task.GetProperty("status").GetString());
        Assert.Equal(0, task.GetProperty("exitCode").GetInt64());
        Assert.Equal("done:abc", task.GetProperty("result").GetString());
    }

    [Fact]
    public async Task Wait_AnswersAFailedTask_WithItsExitCode_AndNoResult()
    {
        var job = await JobAsync("syncfail", "sh", "-c", "exit 3");
        var response = await Http.PostAsync($"/v1/jobs/{job}/tasks?wait=60", Json("{}"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var task = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("failed", task.GetProperty("status").GetString());
        Assert.Equal(3, task.GetProperty("exitCode").GetInt64());
        Assert.False(task.TryGetProperty("result", out _));
    }

    [Fact]
    public async Task Wait_LeavesOutAResultTooLargeToInline()
    {
        // 70,000 bytes of text: over the 64 KiB inline limit, under the 1 MiB result limit.
        var job = await JobAsync("syncbig", "sh", "-c", "head -c 70000 /dev/zero | tr '\\0' a > $STEVEDORE_RESULT_FILE");
        var response = await Http.PostAsync($"/v1/jobs/{job}/tasks?wait=60", Json("{}"));
        var task = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("succeeded", task.GetProperty("status").GetString());
        Assert.False(task.TryGetProperty("result", out _), task.ToString());
        var id = task.GetProperty("id").GetString();
        Assert.Equal(70_000, (await Http.GetByteArrayAsync($"/v1/tasks/{id}/result")).Length);
    }

    [Fact]
    public async Task Wait_AtTheDeadline_Is202_WithTheTaskAsItIs()
    {
        var job = await JobAsync("syncslow", "sleep", "30");
        var response = await Http.PostAsync($"/v1/jobs/{job}/tasks?wait=1", Json("{}"));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var task = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Contains(task.GetProperty("status").GetString(), new[] { "queued", "running" });
        var id = task.GetProperty("id").GetString();
        Assert.Equal($"/v1/tasks/{id}", response.Headers.Location!.OriginalString);
        await Http.PostAsync($"/v1/tasks/{id}/cancel", null);
    }

    [Theory]
    [InlineData("wait=301", "wait")]
    [InlineData("wait=-1", "wait")]
    [InlineData("wait=soon", "wait")]
    [InlineData("wait=1&wait=2", "wait")]
    [InlineData("follow=true", "follow")]
    public async Task BadQuery_Is400_AndEnqueuesNothing(string query, string field)
    {
        var job = await JobAsync("syncbad", "true");
        var response = await Http.PostAsync($"/v1/jobs/{job}/tasks?{query}", Json("{}"));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, body);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.True(JsonDocument.Parse(body).RootElement.GetProperty("errors").TryGetProperty(field, out _), body);
        var stats = await Http.GetFromJsonAsync<JsonElement>($"/v1/jobs/{job}/stats");
        Assert.Equal(0, stats.GetProperty("queuedNow").GetInt64());
        Assert.Equal(0, stats.GetProperty("counts").EnumerateObject().Sum(c => c.Value.GetInt64()));
    }

    [Fact]
    public async Task Wait_ForAnUnknownJob_Is404()
    {
        var response = await Http.PostAsync($"/v1/jobs/{Names.Unique("nojob")}/tasks?wait=5", Json("{}"));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }
}

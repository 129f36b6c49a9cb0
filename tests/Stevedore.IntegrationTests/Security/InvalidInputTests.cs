using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Stevedore.IntegrationTests.Security;

/// <summary>Input that used to answer 500 (or be stored and then answer 500): every one is a clear 4xx now.</summary>
[Collection(ServerCollection.Name)]
public class InvalidInputTests(StevedoreServer server)
{
    private HttpClient Http => server.Http;

    public static ByteArrayContent Json(byte[] body)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return content;
    }

    /// <summary>Asserts a problem+json answer with the status and a detail; returns the problem.</summary>
    public static async Task<JsonElement> ProblemAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"expected {(int)status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(body).RootElement;
        Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("detail").GetString()), body);
        return problem;
    }

    private async Task<string> JobAsync()
    {
        var job = Names.Unique("bad-in");
        await server.PutJobAsync(job, new { image = StevedoreServer.Image, command = new[] { "true" } });
        await Http.PostAsync($"/v1/jobs/{job}/pause", null);
        return job;
    }

    public static TheoryData<string, byte[]> BadTaskBodies => new()
    {
        { "lone high surrogate in a string", """{"payload":"\ud800"}"""u8.ToArray() },
        { "lone low surrogate in a string", """{"payload":"x\udc00y"}"""u8.ToArray() },
        { "lone surrogate in a field name", """{"\ud800":1}"""u8.ToArray() },
        { "lone surrogate in a label", """{"labels":{"a":"\ud83d"}}"""u8.ToArray() },
        { "lone surrogate deep in a JSON payload", """{"payload":{"a":["\udfff"]}}"""u8.ToArray() },
        { "invalid UTF-8 in a string", [.. "{\"payload\":\""u8, 0xFF, 0xFE, .. "\"}"u8] },
        { "invalid UTF-8 in a label name", [.. "{\"labels\":{\""u8, 0xC3, .. "\":\"v\"}}"u8] },
        { "overlong UTF-8", [.. "{\"payload\":\""u8, 0xC0, 0xAF, .. "\"}"u8] },
        { "UTF-8 encoded surrogate", [.. "{\"payload\":\""u8, 0xED, 0xA0, 0x80, .. "\"}"u8] },
        { "nested 200 deep", Encoding.ASCII.GetBytes("{\"payload\":" + new string('[', 200) + new string(']', 200) + "}") },
        { "trailing garbage", """{"payload":1} x"""u8.ToArray() },
        { "a string, not an object", "\"\\ud800\""u8.ToArray() },
    };

    [Theory]
    [MemberData(nameof(BadTaskBodies))]
    public async Task Enqueue_WithInvalidText_Is400_AndQueuesNothing(string what, byte[] body)
    {
        var job = await JobAsync();
        var problem = await ProblemAsync(await Http.PostAsync($"/v1/jobs/{job}/tasks", Json(body)), HttpStatusCode.BadRequest);
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("detail").GetString()), what);

        var batch = Encoding.UTF8.GetBytes("{\"tasks\":[{},").Concat(body).Concat("]}"u8.ToArray()).ToArray();
        await ProblemAsync(await Http.PostAsync($"/v1/jobs/{job}/tasks:batch", Json(batch)), HttpStatusCode.BadRequest);
        var stats = await Http.GetFromJsonAsync<JsonElement>($"/v1/jobs/{job}/stats");
        Assert.Equal(0, stats.GetProperty("queuedNow").GetInt64());
    }

    [Fact]
    public async Task PutJob_WithInvalidText_Is400()
    {
        var name = Names.Unique("bad-job");
        await ProblemAsync(await Http.PutAsync($"/v1/jobs/{name}", Json([.. "{\"image\":\"busybox\",\"env\":{\"A\":\""u8, 0xFF, .. "\"}}"u8])), HttpStatusCode.BadRequest);
        await ProblemAsync(await Http.PutAsync($"/v1/jobs/{name}", Json("""{"image":"busybox","command":["\udc00"]}"""u8.ToArray())), HttpStatusCode.BadRequest);
        await ProblemAsync(await Http.GetAsync($"/v1/jobs/{name}"), HttpStatusCode.NotFound);
    }

    [Theory]
    [InlineData("x%0A")]
    [InlineData("x%0D%0A")]
    [InlineData("x%0a")]
    public async Task JobName_WithATrailingNewline_Is400_AndNotStored(string encoded)
    {
        var response = await Http.PutAsync($"/v1/jobs/{encoded}", Json(Encoding.UTF8.GetBytes($$"""{"image":"{{StevedoreServer.Image}}"}""")));
        var problem = await ProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty("name", out _), problem.ToString());
        await ProblemAsync(await Http.GetAsync($"/v1/jobs/{encoded}"), HttpStatusCode.NotFound);
        var jobs = await Http.GetFromJsonAsync<JsonElement>("/v1/jobs");
        Assert.DoesNotContain(jobs.GetProperty("items").EnumerateArray(), j => j.GetProperty("name").GetString()!.Contains('\n', StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("""{"image":"busybox\n"}""", "image")]
    [InlineData("""{"image":"busybox","env":{"A\n":"1"}}""", "env.A\n")]
    [InlineData("""{"image":"busybox","maxConcurrency":1e400}""", "maxConcurrency")]
    [InlineData("""{"image":"busybox","cpus":1e309}""", "cpus")]
    [InlineData("""{"image":"busybox","timeoutSeconds":123456789012345678901234567890}""", "timeoutSeconds")]
    [InlineData("""{"image":"busybox","retries":-9223372036854775809}""", "retries")]
    [InlineData("""{"image":"busybox","maxQueued":-1}""", "maxQueued")]
    [InlineData("""{"image":"busybox","user":"1000\n"}""", "user")]
    [InlineData("""{"image":"busybox","capabilities":["CHOWN\n"]}""", "capabilities[0]")]
    public async Task PutJob_NewlinesAndHugeNumbers_Are400_NamingTheField(string body, string field)
    {
        var problem = await ProblemAsync(await Http.PutAsync($"/v1/jobs/{Names.Unique("odd")}", Json(Encoding.UTF8.GetBytes(body))), HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
    }

    [Theory]
    [InlineData("""{"labels":{"a\n":"v"}}""", "labels.a\n")]
    [InlineData("""{"priority":1e400}""", "priority")]
    [InlineData("""{"delaySeconds":99999999999999999999999}""", "delaySeconds")]
    [InlineData("""{"idempotencyKey":"k\n"}""", "idempotencyKey")]
    public async Task Enqueue_NewlinesAndHugeNumbers_Are400_NamingTheField(string body, string field)
    {
        var job = await JobAsync();
        var problem = await ProblemAsync(await Http.PostAsync($"/v1/jobs/{job}/tasks", Json(Encoding.UTF8.GetBytes(body))), HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
    }

    [Theory]
    [InlineData("schedules", """{"everySeconds":3600,"payload":"\ud800"}""")]
    [InlineData("schedules", """{"everySeconds":3600,"labels":{"a":"x\udc00"}}""")]
    [InlineData("schedules", """{"cron":"0 3 * * *","timeZone":"UTC\n"}""")]
    [InlineData("schedules", """{"cron":"0 3 * * *\n"}""")]
    [InlineData("schedules", """{"everySeconds":1e400}""")]
    [InlineData("webhooks", """{"headers":["X-\ud800"]}""")]
    [InlineData("webhooks", """{"headers":["X-Event\n"]}""")]
    public async Task TriggerDefinitions_WithInvalidText_Are400_AndCreateNothing(string what, string body)
    {
        var job = await JobAsync();
        await ProblemAsync(await Http.PostAsync($"/v1/jobs/{job}/{what}", Json(Encoding.UTF8.GetBytes(body))), HttpStatusCode.BadRequest);
        var list = what == "schedules" ? $"/v1/schedules?job={job}" : $"/v1/jobs/{job}/webhooks";
        Assert.Empty((await Http.GetFromJsonAsync<JsonElement>(list)).GetProperty("items").EnumerateArray());
    }

    [Theory]
    [InlineData("/v1/tasks?limit=99999999999999999999")]
    [InlineData("/v1/tasks?limit=-1")]
    [InlineData("/v1/tasks?cursor=%00")]
    [InlineData("/v1/tasks?status=%FF%FE")]
    [InlineData("/v1/tasks?job=x%0A")]
    [InlineData("/v1/tasks?label=%00:%00&label=a:b")]
    [InlineData("/v1/tasks?label=a:%00")]
    [InlineData("/v1/tasks?label=a%0A:b")]
    [InlineData("/v1/tasks?%00=1")]
    public async Task OddQueryStrings_Are400(string path) =>
        await ProblemAsync(await Http.GetAsync(path), HttpStatusCode.BadRequest);

    [Theory]
    [InlineData("/v1/tasks/%01")]
    [InlineData("/v1/tasks/%FF%FF/log")]
    [InlineData("/v1/jobs/%C0%AF/stats")]
    [InlineData("/v1/jobs/x%0A/stats")]
    [InlineData("/v1/tasks/0123456789ABCDEF0123456789ABCDEF")]
    public async Task OddPathSegments_Are404(string path) =>
        await ProblemAsync(await Http.GetAsync(path), HttpStatusCode.NotFound);
}

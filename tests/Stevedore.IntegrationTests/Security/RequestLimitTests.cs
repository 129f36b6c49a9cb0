using System.Net;
using System.Text;
using System.Text.Json;

namespace Stevedore.IntegrationTests.Security;

/// <summary>
/// Request bodies are limited per endpoint and refused as soon as they pass a limit: a batch is counted item by item
/// while it arrives, so a huge one is refused before it has been sent, let alone parsed.
/// </summary>
[Collection(LimitCollection.Name)]
public class RequestLimitTests(LimitServer server)
{
    private static readonly TimeSpan s_answerWithin = TimeSpan.FromSeconds(30);

    private Uri Base => server.Http.BaseAddress!;

    private string[] Headers(params string[] more) => [$"Host: 127.0.0.1:{Base.Port}", "Content-Type: application/json", .. more];

    private async Task<string> JobAsync()
    {
        var job = Names.Unique("lim");
        await server.PutJobAsync(job, new { image = StevedoreServer.Image, command = new[] { "true" } });
        await server.Http.PostAsync($"/v1/jobs/{job}/pause", null);
        return job;
    }

    [Fact]
    public async Task ABatchOfTooManyItems_IsRefusedAtItem1001_BeforeTheRestHasBeenSent()
    {
        var job = await JobAsync();
        // Declares 200,000 bytes (within the byte limit) but sends only the first 1001 items and waits.
        var prefix = Encoding.ASCII.GetBytes("{\"tasks\":[" + string.Concat(Enumerable.Repeat("0,", 1001)));
        var request = RawHttp.Request($"POST /v1/jobs/{job}/tasks:batch HTTP/1.1", Headers("Content-Length: 200000"), prefix);

        var answer = await RawHttp.SendAsync(Base, request, s_answerWithin);

        Assert.True(answer?.Status == 400, answer?.Head);
        var stats = await server.Http.GetStringAsync($"/v1/jobs/{job}/stats");
        Assert.Equal(0, JsonDocument.Parse(stats).RootElement.GetProperty("queuedNow").GetInt64());
    }

    [Fact]
    public async Task ABatchOverTheByteLimit_Is413_WithoutItsEnd_AndWithoutContentLength()
    {
        var job = await JobAsync();
        var body = new StringBuilder("{\"tasks\":[{}");
        body.Append(' ', LimitServer.MaxBatchBytes + 10_000);
        var chunked = new StringBuilder();
        for (var i = 0; i < body.Length; i += 8192)
        {
            var part = body.ToString(i, Math.Min(8192, body.Length - i));
            chunked.Append($"{part.Length:x}\r\n{part}\r\n");
        }

        // No final chunk: the server must answer from what it has.
        var request = RawHttp.Request($"POST /v1/jobs/{job}/tasks:batch HTTP/1.1", Headers("Transfer-Encoding: chunked"), Encoding.ASCII.GetBytes(chunked.ToString()));
        var answer = await RawHttp.SendAsync(Base, request, s_answerWithin);
        Assert.True(answer?.Status == 413, answer?.Head);
    }

    [Fact]
    public async Task ABatchDeclaringMoreThanTheLimit_Is413_AtOnce()
    {
        var job = await JobAsync();
        var request = RawHttp.Request($"POST /v1/jobs/{job}/tasks:batch HTTP/1.1", Headers($"Content-Length: {64 * 1024 * 1024}"), "{\"tasks\":[0,0,0"u8);
        var answer = await RawHttp.SendAsync(Base, request, s_answerWithin);
        Assert.True(answer?.Status == 413, answer?.Head);
    }

    [Fact]
    public async Task OneBatchItemOverTheSingleTaskLimit_Is413_NamingIt()
    {
        var job = await JobAsync();
        var big = new string('a', LimitServer.SingleBodyBytes);
        var response = await server.Http.PostAsync($"/v1/jobs/{job}/tasks:batch", InvalidInputTests.Json(Encoding.ASCII.GetBytes($$"""{"tasks":[{},{"payload":"{{big}}"}]}""")));
        var problem = await InvalidInputTests.ProblemAsync(response, HttpStatusCode.RequestEntityTooLarge);
        Assert.Contains("tasks[1]", problem.GetProperty("detail").GetString());
    }

    [Theory]
    [InlineData("PUT", "/v1/jobs/{job}", LimitServer.SingleBodyBytes)]
    [InlineData("POST", "/v1/jobs/{job}/tasks", LimitServer.SingleBodyBytes)]
    [InlineData("POST", "/v1/jobs/{job}/schedules", LimitServer.SingleBodyBytes)]
    [InlineData("POST", "/v1/jobs/{job}/webhooks", 64 * 1024)]
    [InlineData("POST", "/v1/events/lim.topic", LimitServer.MaxPayloadBytes)]
    [InlineData("POST", "/v1/hooks/{hook}", LimitServer.MaxPayloadBytes)]
    public async Task SingleBodiesOverTheirLimit_Are413_WithoutTheirEnd(string method, string path, int limit)
    {
        var job = await JobAsync();
        if (path.Contains("{hook}", StringComparison.Ordinal))
        {
            var created = await server.Http.PostAsync($"/v1/jobs/{job}/webhooks", null);
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            var hook = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
            path = path.Replace("{hook}", hook, StringComparison.Ordinal);
        }

        var body = "{\"payload\":\"" + new string('a', limit + 10_000);
        var chunk = $"{body.Length:x}\r\n{body}\r\n";
        var request = RawHttp.Request($"{method} {path.Replace("{job}", job, StringComparison.Ordinal)} HTTP/1.1", Headers("Transfer-Encoding: chunked"), Encoding.ASCII.GetBytes(chunk));
        var answer = await RawHttp.SendAsync(Base, request, s_answerWithin);
        Assert.True(answer?.Status == 413, answer?.Head);
        Assert.Equal(0, JsonDocument.Parse(await server.Http.GetStringAsync($"/v1/jobs/{job}/stats")).RootElement.GetProperty("queuedNow").GetInt64());
    }

    [Fact]
    public async Task ABatchAtTheLimits_IsTaken()
    {
        var job = await JobAsync();
        var items = string.Join(',', Enumerable.Repeat("{\"payload\":1}", 1000));
        var response = await server.Http.PostAsync($"/v1/jobs/{job}/tasks:batch", InvalidInputTests.Json(Encoding.ASCII.GetBytes($$"""{"tasks":[{{items}}]}""")));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal(1000, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("ids").GetArrayLength());
    }
}

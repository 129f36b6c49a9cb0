using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Stevedore.IntegrationTests.Triggers;

/// <summary>Webhooks and events over real HTTP, their bodies reaching real containers.</summary>
[Collection(ServerCollection.Name)]
public class WebhookEventTests(StevedoreServer server)
{
    private HttpClient Http => server.Http;

    // The payload file goes to the result byte for byte; the hook variables go to stderr.
    private const string Echo = "cat $STEVEDORE_PAYLOAD_FILE > $STEVEDORE_RESULT_FILE; env | grep ^STEVEDORE_HOOK_ | sort >&2";

    private async Task<(string Job, string Id, string Secret, string Url)> HookAsync(string prefix, string body = """{"headers":["X-Event"]}""")
    {
        var job = Names.Unique(prefix);
        await server.PutJobAsync(job, new { image = StevedoreServer.Image, command = new[] { "sh", "-c", Echo } });
        var created = await Http.PostAsync($"/v1/jobs/{job}/webhooks", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var hook = await created.Content.ReadFromJsonAsync<JsonElement>();
        return (job, hook.GetProperty("id").GetString()!, hook.GetProperty("secret").GetString()!, hook.GetProperty("url").GetString()!);
    }

    private static string Sign(string secret, byte[] body) =>
        "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body));

    private async Task<HttpResponseMessage> CallAsync(string id, byte[] body, string contentType, params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/hooks/{id}") { Content = new ByteArrayContent(body) };
        // As a careful sender of a large body does: the server's 413 on the declared length comes before the body is
        // sent. Without it the refusal and its 'Connection: close' can break the pipe under the body still being written.
        request.Headers.ExpectContinue = body.Length > 64 * 1024;
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        return await Http.SendAsync(request);
    }

    private static async Task<string> TaskIdAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, text);
        return JsonDocument.Parse(text).RootElement.GetProperty("taskId").GetString()!;
    }

    [Fact]
    public async Task SignedBinaryBody_ReachesTheContainerByteForByte_WithTheHookVariables()
    {
        var (job, id, secret, url) = await HookAsync("hook-bin");
        Assert.Equal($"{Http.BaseAddress!.ToString().TrimEnd('/')}/v1/hooks/{id}", url);
        var body = Enumerable.Range(0, 256).Select(i => (byte)i).Concat(RandomNumberGenerator.GetBytes(4096)).ToArray();

        var taskId = await TaskIdAsync(await CallAsync(id, body, "application/octet-stream",
            ("X-Stevedore-Signature", Sign(secret, body)), ("X-Event", "push\tnow"), ("X-Request-Id", "delivery-1")));
        var task = await server.WaitForEndAsync(taskId);

        Assert.Equal("succeeded", task.GetProperty("status").GetString());
        Assert.Equal(id, task.GetProperty("labels").GetProperty("webhook").GetString());
        Assert.Equal(body, await Http.GetByteArrayAsync($"/v1/tasks/{taskId}/result"));
        var variables = await Http.GetStringAsync($"/v1/tasks/{taskId}/log?stream=stderr");
        Assert.Equal(
            $"STEVEDORE_HOOK_CONTENT_TYPE=application/octet-stream\nSTEVEDORE_HOOK_DELIVERY_ID=delivery-1\nSTEVEDORE_HOOK_HEADER_X_EVENT=pushnow\nSTEVEDORE_HOOK_ID={id}\n",
            variables);
        Assert.Single((await Http.GetFromJsonAsync<JsonElement>($"/v1/tasks?job={job}")).GetProperty("items").EnumerateArray());
    }

    [Fact]
    public async Task Token_Works_ARedeliveryMakesNoSecondTask_AndTheSecretIsNeverShownAgain()
    {
        var (job, id, secret, _) = await HookAsync("hook-token", "");
        var body = "{\"ref\":\"main\"}"u8.ToArray();

        var first = await TaskIdAsync(await CallAsync(id, body, "application/json", ("X-Stevedore-Token", secret), ("Idempotency-Key", "d-42")));
        var again = await CallAsync(id, body, "application/json", ("X-Stevedore-Token", secret), ("Idempotency-Key", "d-42"));
        Assert.Equal(first, await TaskIdAsync(again));
        var other = await TaskIdAsync(await CallAsync(id, body, "application/json", ("X-Stevedore-Token", secret)));
        Assert.NotEqual(first, other);

        var listed = await Http.GetStringAsync($"/v1/jobs/{job}/webhooks");
        Assert.Contains(id, listed);
        Assert.DoesNotContain(secret, listed);
        Assert.DoesNotContain("secret", listed);
        Assert.Equal("{\"ref\":\"main\"}", await Http.GetStringAsync($"/v1/tasks/{(await server.WaitForEndAsync(first)).GetProperty("id").GetString()}/result"));

        Assert.Equal(HttpStatusCode.NoContent, (await Http.DeleteAsync($"/v1/jobs/{job}/webhooks/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await CallAsync(id, body, "application/json", ("X-Stevedore-Token", secret))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Http.DeleteAsync($"/v1/jobs/{job}/webhooks/{id}")).StatusCode);
    }

    [Fact]
    public async Task TamperedBody_WrongOrMissingSecret_Are401_AndMakeNoTask()
    {
        var (job, id, secret, _) = await HookAsync("hook-bad");
        var body = "amount=10"u8.ToArray();
        var signature = Sign(secret, body);

        foreach (var (sent, headers) in new (byte[], (string, string)[])[]
        {
            ("amount=1000"u8.ToArray(), [("X-Stevedore-Signature", signature)]),
            (body, [("X-Stevedore-Signature", Sign(secret + "x", body))]),
            (body, [("X-Stevedore-Signature", "sha256=zz")]),
            (body, [("X-Stevedore-Token", secret[..^1])]),
            (body, []),
        })
        {
            var response = await CallAsync(id, sent, "application/x-www-form-urlencoded", headers);
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, text);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }

        Assert.Empty((await Http.GetFromJsonAsync<JsonElement>($"/v1/tasks?job={job}")).GetProperty("items").EnumerateArray());
        Assert.Equal(HttpStatusCode.Accepted, (await CallAsync(id, body, "text/plain", ("X-Stevedore-Signature", signature))).StatusCode);
    }

    [Fact]
    public async Task HookRefusals_TooLarge413_UnknownHook404_BadHeaders400()
    {
        var (job, id, secret, _) = await HookAsync("hook-limits");
        var large = new byte[1024 * 1024 + 1];
        var tooLarge = await CallAsync(id, large, "application/octet-stream", ("X-Stevedore-Token", secret));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooLarge.StatusCode);
        // The unread rest of the body leaves the connection unusable: the server says so, so no client reuses it.
        Assert.True(tooLarge.Headers.ConnectionClose == true, $"413 without 'Connection: close': {tooLarge.Headers}");
        Assert.Equal(HttpStatusCode.NotFound, (await CallAsync("0123456789abcdef0123456789abcdef", [1], "text/plain", ("X-Stevedore-Token", secret))).StatusCode);
        var bad = await Http.PostAsync($"/v1/jobs/{job}/webhooks", new StringContent("""{"headers":["Authorization","bad header"]}""", Encoding.UTF8, "application/json"));
        var problem = JsonDocument.Parse(await bad.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.True(problem.GetProperty("errors").TryGetProperty("headers[0]", out _));
        Assert.True(problem.GetProperty("errors").TryGetProperty("headers[1]", out _));
        Assert.Equal(HttpStatusCode.NotFound, (await Http.PostAsync($"/v1/jobs/{Names.Unique("none")}/webhooks", null)).StatusCode);
    }

    [Fact]
    public async Task AnEvent_FansOutToEverySubscribedJob_AndOnlyThose()
    {
        var topic = Names.Unique("orders");
        var jobs = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var job = Names.Unique("sub");
            await server.PutJobAsync(job, new { image = StevedoreServer.Image, command = new[] { "sh", "-c", "cat > $STEVEDORE_RESULT_FILE" }, subscriptions = i < 2 ? new[] { topic, "other" } : new[] { "other" } });
            jobs.Add(job);
        }

        Assert.Equal([topic, "other"], (await Http.GetFromJsonAsync<JsonElement>($"/v1/jobs/{jobs[0]}")).GetProperty("subscriptions").EnumerateArray().Select(t => t.GetString()).Order());
        var response = await Http.PostAsync($"/v1/events/{topic}", new StringContent("""{"order":7}""", Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, text);
        var accepted = JsonDocument.Parse(text).RootElement;
        var taskIds = accepted.GetProperty("taskIds").EnumerateArray().Select(t => t.GetString()!).ToList();

        Assert.Equal(jobs.Take(2).Order(), accepted.GetProperty("jobs").EnumerateArray().Select(j => j.GetString()!).Order());
        Assert.Equal(2, taskIds.Count);
        foreach (var taskId in taskIds)
        {
            var task = await server.WaitForEndAsync(taskId);
            Assert.Equal("succeeded", task.GetProperty("status").GetString());
            Assert.Equal(topic, task.GetProperty("labels").GetProperty("event").GetString());
            Assert.Equal("""{"order":7}""", await Http.GetStringAsync($"/v1/tasks/{taskId}/result"));
        }

        Assert.Empty((await Http.GetFromJsonAsync<JsonElement>($"/v1/tasks?job={jobs[2]}")).GetProperty("items").EnumerateArray());
        var nobody = await (await Http.PostAsync($"/v1/events/{Names.Unique("quiet")}", new StringContent("1", Encoding.UTF8, "application/json"))).Content.ReadFromJsonAsync<JsonElement>();
        Assert.Empty(nobody.GetProperty("taskIds").EnumerateArray());
        Assert.Equal(HttpStatusCode.BadRequest, (await Http.PostAsync("/v1/events/Bad%20Topic", new StringContent("1", Encoding.UTF8, "application/json"))).StatusCode);
        var badJob = await Http.PutAsJsonAsync($"/v1/jobs/{Names.Unique("badsub")}", new { image = StevedoreServer.Image, subscriptions = new[] { "UPPER case" } });
        Assert.Equal(HttpStatusCode.BadRequest, badJob.StatusCode);
        Assert.Contains("subscriptions[0]", await badJob.Content.ReadAsStringAsync());
    }
}

using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Stevedore.IntegrationTests;

/// <summary>A server with an admin token: every /v1 call and the dashboard need it.</summary>
public sealed class TokenServer : StevedoreServer
{
    public const string Token = "test-token-0123456789abcdef";

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Stevedore:Auth:AdminToken"] = Token,
        ["Stevedore:Worker:Slots"] = "1",
    };
}

public class AuthTests(TokenServer server) : IClassFixture<TokenServer>
{
    private const string AnyTask = "0123456789abcdef0123456789abcdef";

    private static HttpRequestMessage Request(HttpMethod method, string path, string? token, string? body = null)
    {
        var request = new HttpRequestMessage(method, path);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        return request;
    }

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? token, string? body = null)
    {
        using var request = Request(method, path, token, body);
        return await server.Http.SendAsync(request);
    }

    private static async Task<string> ProblemDetailAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"expected {(int)status}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return JsonDocument.Parse(text).RootElement.GetProperty("detail").GetString()!;
    }

    [Theory]
    [InlineData("/v1/jobs")]
    [InlineData("/v1/jobs/some-job")]
    [InlineData("/v1/jobs/some-job/stats")]
    [InlineData("/v1/tasks")]
    [InlineData("/v1/tasks/" + AnyTask)]
    [InlineData("/v1/tasks/" + AnyTask + "/log")]
    [InlineData("/v1/tasks/" + AnyTask + "/result")]
    [InlineData("/dashboard/")]
    [InlineData("/metrics")]
    public async Task MissingToken_Is401(string path)
    {
        var response = await server.Http.GetAsync(path);
        Assert.Contains("Authorization: Bearer", await ProblemDetailAsync(response, HttpStatusCode.Unauthorized));
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
    }

    [Fact]
    public async Task WrongToken_Is403()
    {
        var response = await SendAsync(HttpMethod.Get, "/v1/jobs", "wrong-token-0123456789");
        Assert.Equal("The bearer token is not this server's admin token.", await ProblemDetailAsync(response, HttpStatusCode.Forbidden));
        Assert.DoesNotContain(TokenServer.Token, await response.Content.ReadAsStringAsync());
    }

    /// <summary>Every call that changes something, refused without the token or with a wrong one, changes nothing.</summary>
    [Theory]
    [InlineData("PUT", "/v1/jobs/{job}", """{"image":"busybox","retries":5}""")]
    [InlineData("DELETE", "/v1/jobs/{job}", null)]
    [InlineData("POST", "/v1/jobs/{job}/pause", null)]
    [InlineData("POST", "/v1/jobs/{job}/resume", null)]
    [InlineData("POST", "/v1/jobs/{job}/tasks", """{"payload":"x"}""")]
    [InlineData("POST", "/v1/jobs/{job}/tasks:batch", """{"tasks":[{"payload":"x"}]}""")]
    [InlineData("POST", "/v1/tasks/{task}/cancel", null)]
    [InlineData("POST", "/v1/tasks/{task}/retry", null)]
    public async Task EveryWriteRoute_WithoutTheRightToken_IsRefused_AndChangesNothing(string method, string route, string? body)
    {
        var job = Names.Unique("guarded");
        Assert.Equal(HttpStatusCode.Created, (await SendAsync(HttpMethod.Put, $"/v1/jobs/{job}", TokenServer.Token, """{"image":"busybox"}""")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Post, $"/v1/jobs/{job}/pause", TokenServer.Token)).StatusCode);
        var enqueued = await SendAsync(HttpMethod.Post, $"/v1/jobs/{job}/tasks", TokenServer.Token, "{}");
        var task = (await enqueued.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        var path = route.Replace("{job}", job, StringComparison.Ordinal).Replace("{task}", task, StringComparison.Ordinal);

        await ProblemDetailAsync(await SendAsync(new HttpMethod(method), path, token: null, body), HttpStatusCode.Unauthorized);
        await ProblemDetailAsync(await SendAsync(new HttpMethod(method), path, "wrong-token-0123456789", body), HttpStatusCode.Forbidden);

        var jobNow = await (await SendAsync(HttpMethod.Get, $"/v1/jobs/{job}", TokenServer.Token)).Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(1, jobNow.GetProperty("version").GetInt64());
        Assert.True(jobNow.GetProperty("paused").GetBoolean());
        Assert.Equal(0, jobNow.GetProperty("retries").GetInt32());
        var tasks = await (await SendAsync(HttpMethod.Get, $"/v1/tasks?job={job}", TokenServer.Token)).Content.ReadFromJsonAsync<JsonElement>();
        var only = Assert.Single(tasks.GetProperty("items").EnumerateArray());
        Assert.Equal(task, only.GetProperty("id").GetString());
        Assert.Equal("queued", only.GetProperty("status").GetString());
    }

    /// <summary>
    /// Every endpoint the app really maps under /v1 — read from its routing, so a new route cannot slip past — refuses
    /// a call without the token. The one exception is a webhook delivery, which carries its hook's own secret.
    /// </summary>
    [Fact]
    public async Task EveryMappedV1Endpoint_WithoutTheToken_Is401()
    {
        var routes = server.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText?.StartsWith("/v1", StringComparison.Ordinal) == true)
            .SelectMany(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["GET"]).Select(m => (Method: m, Route: e.RoutePattern.RawText!)))
            .Where(r => !(r.Method == "POST" && r.Route == "/v1/hooks/{id}"))
            .Distinct()
            .ToList();
        Assert.True(routes.Count >= 20, $"expected the whole API under /v1, found {routes.Count} routes");

        var open = new List<string>();
        foreach (var (method, route) in routes)
        {
            var path = System.Text.RegularExpressions.Regex.Replace(route, "{[^}]+}", AnyTask);
            var response = await SendAsync(new HttpMethod(method), path, token: null, body: "{}");
            if (response.StatusCode != HttpStatusCode.Unauthorized)
            {
                open.Add($"{method} {route} → {(int)response.StatusCode}");
            }
        }

        Assert.True(open.Count == 0, "answered without the token: " + string.Join("; ", open));
    }

    [Fact]
    public async Task WithAToken_AnyHostAndOrigin_AreAnswered_ButOnlyWithTheToken()
    {
        // Behind a load balancer the host answers its public name; a browser cannot add the bearer header cross-site
        // without CORS, which the host does not enable.
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/jobs");
        request.Headers.Host = "stevedore.example.com";
        request.Headers.Add("Origin", "https://console.example.com");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", TokenServer.Token);
        Assert.Equal(HttpStatusCode.OK, (await server.Http.SendAsync(request)).StatusCode);

        using var without = new HttpRequestMessage(HttpMethod.Get, "/v1/jobs");
        without.Headers.Host = "stevedore.example.com";
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.Http.SendAsync(without)).StatusCode);
    }

    [Fact]
    public async Task RightToken_IsLetThrough_AndHealthzNeedsNone()
    {
        var response = await SendAsync(HttpMethod.Get, "/v1/jobs", TokenServer.Token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(JsonValueKind.Array, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("items").ValueKind);
        await server.WaitHealthyAsync();
    }

    [Fact]
    public async Task AHookCall_NeedsOnlyItsOwnSecret_EverythingElseUnderV1HooksNeedsTheToken()
    {
        var job = Names.Unique("authhook");
        using var put = new HttpRequestMessage(HttpMethod.Put, $"/v1/jobs/{job}") { Content = JsonContent.Create(new { image = StevedoreServer.Image, command = new[] { "true" } }) };
        put.Headers.Authorization = new AuthenticationHeaderValue("Bearer", TokenServer.Token);
        Assert.True((await server.Http.SendAsync(put)).IsSuccessStatusCode);
        using var create = new HttpRequestMessage(HttpMethod.Post, $"/v1/jobs/{job}/webhooks");
        create.Headers.Authorization = new AuthenticationHeaderValue("Bearer", TokenServer.Token);
        var hook = await (await server.Http.SendAsync(create)).Content.ReadFromJsonAsync<JsonElement>();
        var id = hook.GetProperty("id").GetString();

        using var call = new HttpRequestMessage(HttpMethod.Post, $"/v1/hooks/{id}") { Content = new StringContent("hi") };
        call.Headers.Add("X-Stevedore-Token", hook.GetProperty("secret").GetString());
        Assert.Equal(HttpStatusCode.Accepted, (await server.Http.SendAsync(call)).StatusCode);

        Assert.Equal(HttpStatusCode.Unauthorized, (await server.Http.PostAsync($"/v1/hooks/{id}", new StringContent("hi"))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.Http.GetAsync($"/v1/hooks/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.Http.PostAsync($"/v1/hooks/{id}/more", new StringContent("hi"))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.Http.PostAsync($"/v1/jobs/{job}/webhooks", null)).StatusCode);
    }
}

using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

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
    [Theory]
    [InlineData("/v1/jobs")]
    [InlineData("/v1/tasks")]
    [InlineData("/dashboard/")]
    public async Task MissingToken_Is401(string path)
    {
        var response = await server.Http.GetAsync(path);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("Authorization: Bearer", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task WrongToken_Is403()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/jobs");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "wrong-token-0123456789");
        Assert.Equal(HttpStatusCode.Forbidden, (await server.Http.SendAsync(request)).StatusCode);
    }

    [Fact]
    public async Task RightToken_IsLetThrough_AndHealthzNeedsNone()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/jobs");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", TokenServer.Token);
        Assert.Equal(HttpStatusCode.OK, (await server.Http.SendAsync(request)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await server.Http.GetAsync("/healthz")).StatusCode);
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

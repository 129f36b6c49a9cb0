using System.Net;
using System.Net.Http.Headers;

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
    [InlineData("/metrics")]
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
}

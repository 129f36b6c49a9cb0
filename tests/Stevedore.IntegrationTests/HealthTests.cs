using System.Net;

namespace Stevedore.IntegrationTests;

/// <summary>A server whose Docker Engine is not there: a socket path that does not exist (the shared engine runs on).</summary>
public sealed class NoDockerServer : StevedoreServer
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Stevedore:Docker:Endpoint"] = $"unix:///nonexistent/{Names.Unique("stevedore-test")}/docker.sock",
        ["Stevedore:Worker:Slots"] = "1",
    };
}

public class HealthTests(NoDockerServer server) : IClassFixture<NoDockerServer>
{
    [Fact]
    public async Task Healthz_Is503_NamingDocker_WhenTheEngineDoesNotAnswer()
    {
        var response = await server.Http.GetAsync("/healthz");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        var body = await response.Content.ReadAsStringAsync();
        Assert.Contains("docker: ", body);
        Assert.DoesNotContain("ok", body.Split('\n'));
    }
}

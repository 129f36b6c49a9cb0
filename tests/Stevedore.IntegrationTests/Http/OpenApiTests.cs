using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Stevedore.IntegrationTests.Http;

/// <summary>The HTTP API describes itself at /openapi/v1.json, and the document cannot drift from the endpoints.</summary>
[Collection(ServerCollection.Name)]
public class OpenApiTests(StevedoreServer server)
{
    private static string Normalize(string path) => "/" + path.Trim('/');

    private async Task<JsonElement> DocumentAsync()
    {
        var response = await server.Http.GetAsync("/openapi/v1.json");
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
    }

    [Fact]
    public async Task TheDocument_ListsExactlyTheApisEndpoints()
    {
        var document = await DocumentAsync();
        var described = document.GetProperty("paths").EnumerateObject()
            .SelectMany(p => p.Value.EnumerateObject().Select(m => $"{m.Name.ToUpperInvariant()} {Normalize(p.Name)}"))
            .ToHashSet();

        var real = server.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText is { } raw && (raw.StartsWith("/v1", StringComparison.Ordinal) || raw == "/healthz"))
            .SelectMany(e => (e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? []).Select(m => $"{m} {Normalize(e.RoutePattern.RawText!)}"))
            .ToHashSet();

        Assert.NotEmpty(real);
        Assert.True(real.SetEquals(described),
            $"only in the app: {string.Join(", ", real.Except(described))}; only in the document: {string.Join(", ", described.Except(real))}");
    }

    [Fact]
    public async Task EveryApiOperation_DescribesItsSuccess_AndItsProblemJsonRefusals()
    {
        var document = await DocumentAsync();
        foreach (var path in document.GetProperty("paths").EnumerateObject().Where(p => p.Name.StartsWith("/v1", StringComparison.Ordinal)))
        {
            foreach (var operation in path.Value.EnumerateObject())
            {
                var name = $"{operation.Name.ToUpperInvariant()} {path.Name}";
                var responses = operation.Value.GetProperty("responses").EnumerateObject().ToList();
                Assert.True(responses.Any(r => r.Name.StartsWith('2')), $"{name} describes no success");
                // 401 is added with the table's entries: an endpoint missing from Apis/ApiDescriptions.cs has none.
                var refusals = responses.Where(r => r.Name.StartsWith('4')).ToList();
                Assert.True(refusals.Any(r => r.Name == "401"), $"{name} describes no refusal (add it to Apis/ApiDescriptions.cs)");
                Assert.All(refusals, r => Assert.True(
                    r.Value.GetProperty("content").TryGetProperty("application/problem+json", out _), $"{name} {r.Name} is not problem+json"));
            }
        }
    }
}

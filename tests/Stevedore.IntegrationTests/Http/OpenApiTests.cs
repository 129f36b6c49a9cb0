using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
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

    /// <summary>
    /// Every POST and PUT that reads a JSON body describes it, and with exactly the fields the endpoint accepts. Which
    /// operations read JSON, and which fields, is asked of the endpoints themselves: each names an unknown field with
    /// the list of the ones it knows.
    /// </summary>
    [Fact]
    public async Task EveryJsonBody_IsDescribed_WithTheFieldsTheEndpointAccepts()
    {
        var document = await DocumentAsync();
        var job = Names.Unique("openapi");
        await server.PutJobAsync(job, new { image = StevedoreServer.Image });
        var schemas = document.GetProperty("components").GetProperty("schemas");
        var jsonOperations = 0;
        foreach (var path in document.GetProperty("paths").EnumerateObject())
        {
            foreach (var operation in path.Value.EnumerateObject().Where(o => o.Name is "post" or "put"))
            {
                var name = $"{operation.Name.ToUpperInvariant()} {path.Name}";
                var route = path.Name.Replace("{name}", job).Replace("{id}", new string('0', 32)).Replace("{topic}", "openapi-probe");
                using var probe = new HttpRequestMessage(new HttpMethod(operation.Name.ToUpperInvariant()), route)
                {
                    // "tasks" too, so that a batch gets as far as its fields.
                    Content = new StringContent("""{"tasks":[],"zzProbe":1}""", Encoding.UTF8, "application/json"),
                };
                var response = await server.Http.SendAsync(probe);
                var text = await response.Content.ReadAsStringAsync();
                var accepted = AcceptedFields(response.StatusCode, text);
                var described = operation.Value.TryGetProperty("requestBody", out var body) ? body : (JsonElement?)null;
                if (accepted is null)
                {
                    // No fields read: no body, raw bytes of any content type, or any JSON kept as sent (an event).
                    Assert.True(described is null || described.Value.GetProperty("content") is var content && (content.TryGetProperty("*/*", out _)
                            || (content.TryGetProperty("application/json", out var raw) && !Resolve(raw.GetProperty("schema"), schemas).TryGetProperty("properties", out _))),
                        $"{name} describes a JSON body with fields but does not read one ({(int)response.StatusCode}: {text})");
                    continue;
                }

                jsonOperations++;
                Assert.True(described is { } d && d.GetProperty("content").TryGetProperty("application/json", out _),
                    $"{name} reads a JSON body but does not describe it (Apis/ApiDescriptions.cs)");
                var schema = Resolve(described!.Value.GetProperty("content").GetProperty("application/json").GetProperty("schema"), schemas);
                var properties = schema.GetProperty("properties").EnumerateObject().Select(p => p.Name).Order().ToList();
                Assert.True(accepted.SequenceEqual(properties),
                    $"{name}: the endpoint accepts {string.Join(", ", accepted)}; the document describes {string.Join(", ", properties)}");
            }
        }

        Assert.Equal(5, jsonOperations); // jobs, tasks, batches, schedules, webhooks
    }

    /// <summary>The fields an endpoint listed when it refused the probe's unknown field; null when it did not read it as JSON.</summary>
    private static List<string>? AcceptedFields(HttpStatusCode status, string text)
    {
        if (status != HttpStatusCode.BadRequest
            || !JsonDocument.Parse(text).RootElement.TryGetProperty("errors", out var errors)
            || !errors.TryGetProperty("zzProbe", out var messages))
        {
            return null;
        }

        var known = Regex.Match(messages[0].GetString()!, "expected(?: one of)?: (.+)$");
        Assert.True(known.Success, $"the refusal of an unknown field lists no known fields: {text}");
        return known.Groups[1].Value.Split(", ").Order().ToList();
    }

    private static JsonElement Resolve(JsonElement schema, JsonElement schemas) =>
        schema.TryGetProperty("$ref", out var reference) ? schemas.GetProperty(reference.GetString()!.Split('/')[^1]) : schema;
}

using System.Text.Json;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.OpenApi;

namespace Stevedore.Host.Apis;

/// <summary>
/// What each HTTP endpoint accepts and answers, for the OpenAPI document (<c>/openapi/v1.json</c>). Endpoints read
/// their bodies by hand (so every malformed field gets a named 400), which the document cannot see: this table says
/// it instead, its responses applied as endpoint metadata (<see cref="Describe"/>) and its request bodies by an
/// operation transformer (<see cref="DescribeRequestBodyAsync"/>). A test compares the document with the real
/// endpoints, down to the fields each body accepts.
/// </summary>
public static class ApiDescriptions
{
    private const string Json = "application/json";
    private const string Problem = "application/problem+json";
    private const string Text = "text/plain";

    private static readonly Dictionary<(string Method, string Route), (Type? Body, (int Status, Type? Type, string ContentType)[] Responses)> s_table = new()
    {
        [("PUT", "/v1/jobs/{name}")] = (typeof(JobRequest), [(201, typeof(JobResponse), Json), (200, typeof(JobResponse), Json), Invalid, TooLarge, Unsupported]),
        [("GET", "/v1/jobs")] = (null, [(200, typeof(JobListResponse), Json)]),
        [("GET", "/v1/jobs/{name}")] = (null, [(200, typeof(JobResponse), Json), NotFound]),
        [("DELETE", "/v1/jobs/{name}")] = (null, [(204, typeof(void), ""), NotFound]),
        [("POST", "/v1/jobs/{name}/pause")] = (null, [(200, typeof(JobResponse), Json), NotFound]),
        [("POST", "/v1/jobs/{name}/resume")] = (null, [(200, typeof(JobResponse), Json), NotFound]),
        [("GET", "/v1/jobs/{name}/stats")] = (null, [(200, typeof(StatsResponse), Json), NotFound]),
        [("POST", "/v1/jobs/{name}/tasks")] = (typeof(TaskRequest),
            [(202, typeof(TaskResponse), Json), (200, typeof(TaskResponse), Json), Invalid, NotFound, TooLarge, Unsupported]),
        [("POST", "/v1/jobs/{name}/tasks:batch")] = (typeof(BatchRequest), [(202, typeof(BatchResponse), Json), Invalid, NotFound, TooLarge, Unsupported]),
        [("GET", "/v1/tasks")] = (null, [(200, typeof(TaskListResponse), Json), Invalid]),
        [("GET", "/v1/tasks/{id}")] = (null, [(200, typeof(TaskResponse), Json), NotFound]),
        [("POST", "/v1/tasks/{id}/cancel")] = (null, [(200, typeof(TaskResponse), Json), NotFound, Conflict]),
        [("POST", "/v1/tasks/{id}/retry")] = (null, [(202, typeof(TaskResponse), Json), NotFound, Conflict]),
        [("POST", "/v1/tasks/{id}/redrive")] = (null, [(202, typeof(TaskResponse), Json), (200, typeof(TaskResponse), Json), NotFound, Conflict]),
        [("POST", "/v1/jobs/{name}/tasks:redrive")] = (null, [(200, typeof(RedriveResponse), Json), NotFound]),
        [("DELETE", "/v1/tasks/{id}")] = (null, [(204, typeof(void), ""), NotFound, Conflict]),
        [("GET", "/v1/tasks/{id}/result")] = (null, [(200, typeof(byte[]), "application/octet-stream"), NotFound]),
        [("GET", "/v1/tasks/{id}/log")] = (null, [(200, typeof(string), Text), Invalid, NotFound]),
        [("POST", "/v1/jobs/{name}/schedules")] = (typeof(ScheduleRequest), [(201, typeof(ScheduleResponse), Json), Invalid, NotFound, TooLarge, Unsupported]),
        [("GET", "/v1/schedules")] = (null, [(200, typeof(ScheduleListResponse), Json), Invalid]),
        [("GET", "/v1/schedules/{id}")] = (null, [(200, typeof(ScheduleResponse), Json), NotFound]),
        [("DELETE", "/v1/schedules/{id}")] = (null, [(204, typeof(void), ""), NotFound]),
        [("POST", "/v1/schedules/{id}/pause")] = (null, [(200, typeof(ScheduleResponse), Json), NotFound]),
        [("POST", "/v1/schedules/{id}/resume")] = (null, [(200, typeof(ScheduleResponse), Json), NotFound]),
        [("POST", "/v1/jobs/{name}/webhooks")] = (typeof(WebhookRequest), [(201, typeof(CreatedWebhookResponse), Json), Invalid, NotFound, Unsupported]),
        [("GET", "/v1/jobs/{name}/webhooks")] = (null, [(200, typeof(WebhookListResponse), Json), NotFound]),
        [("DELETE", "/v1/jobs/{name}/webhooks/{id}")] = (null, [(204, typeof(void), ""), NotFound]),
        // The raw body is the payload: any content type for a hook's call (401, a wrong or missing secret, is added for
        // every call below), a JSON one for an event (JsonElement here: any JSON, kept as sent).
        [("POST", "/v1/hooks/{id}")] = (typeof(byte[]), [(202, typeof(HookAcceptedResponse), Json), NotFound, TooLarge]),
        [("POST", "/v1/events/{topic}")] = (typeof(JsonElement), [(202, typeof(EventAcceptedResponse), Json), Invalid, TooLarge, Unsupported]),
        [("GET", "/healthz")] = (null, [(200, typeof(string), Text), (503, typeof(string), Text)]),
    };

    private static (int, Type?, string) Invalid => (400, typeof(HttpValidationProblemDetails), Problem);
    private static (int, Type?, string) NotFound => (404, typeof(ProblemDetails), Problem);
    private static (int, Type?, string) Conflict => (409, typeof(ProblemDetails), Problem);
    private static (int, Type?, string) TooLarge => (413, typeof(ProblemDetails), Problem);
    private static (int, Type?, string) Unsupported => (415, typeof(ProblemDetails), Problem);

    /// <summary>Adds the table's request and response descriptions to the endpoint, if it is one of the API's.</summary>
    public static void Describe(EndpointBuilder endpoint)
    {
        if (endpoint is not RouteEndpointBuilder { RoutePattern: var pattern }
            || endpoint.Metadata.OfType<IHttpMethodMetadata>().FirstOrDefault() is not { } methods)
        {
            return;
        }

        foreach (var method in methods.HttpMethods)
        {
            if (!s_table.TryGetValue((method, Route(pattern)), out var entry))
            {
                continue;
            }

            // The request body types stay out of the metadata: IAcceptsMetadata also takes part in routing (it would
            // answer 415 before the endpoint could say what is wrong). DescribeRequestBodyAsync puts them in the document.
            foreach (var (status, type, contentType) in entry.Responses)
            {
                endpoint.Metadata.Add(new ProducesResponseTypeMetadata(status, type, contentType.Length == 0 ? [] : [contentType]));
            }

            // Every call may also be refused for its token or answered 503 while storage or cluster is away.
            endpoint.Metadata.Add(new ProducesResponseTypeMetadata(401, typeof(ProblemDetails), [Problem]));
            endpoint.Metadata.Add(new ProducesResponseTypeMetadata(503, typeof(ProblemDetails), [Problem]));
        }
    }

    /// <summary>
    /// Operation transformer: the request body the table names for the operation. JSON bodies get the schema of
    /// their request record (kept once under components, referenced by each operation); a webhook's call takes any
    /// content type as bytes, an event any JSON, both kept as sent.
    /// </summary>
    public static async Task DescribeRequestBodyAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        var description = context.Description;
        if (description.HttpMethod is not { } method
            || !s_table.TryGetValue((method, "/" + (description.RelativePath ?? "").Trim('/')), out var entry)
            || entry.Body is not { } body)
        {
            return;
        }

        if (body == typeof(byte[]))
        {
            operation.RequestBody = new OpenApiRequestBody
            {
                Description = "Any content type: the raw bytes are the payload of the task(s) it makes (up to Stevedore:Queue:MaxPayloadBytes).",
                Content = new Dictionary<string, OpenApiMediaType>
                {
                    ["*/*"] = new() { Schema = new OpenApiSchema { Type = JsonSchemaType.String, Format = "binary" } },
                },
            };
            return;
        }

        if (body == typeof(JsonElement))
        {
            operation.RequestBody = new OpenApiRequestBody
            {
                Description = "Any JSON, with a JSON content type (415 otherwise): the raw bytes are the payload of the tasks it makes (up to Stevedore:Queue:MaxPayloadBytes).",
                Content = new Dictionary<string, OpenApiMediaType> { [Json] = new() { Schema = new OpenApiSchema() } },
            };
            return;
        }

        var schema = await context.GetOrCreateSchemaAsync(body, null, cancellationToken);
        IOpenApiSchema reference = schema;
        if (context.Document is { } document)
        {
            document.AddComponent(body.Name, schema);
            reference = new OpenApiSchemaReference(body.Name, document);
        }

        operation.RequestBody = new OpenApiRequestBody
        {
            // A webhook's settings may be left out; every other JSON endpoint needs its object.
            Required = body != typeof(WebhookRequest),
            Content = new Dictionary<string, OpenApiMediaType> { [Json] = new() { Schema = reference } },
        };
    }

    /// <summary>The route as written in the table: no trailing slash.</summary>
    public static string Route(RoutePattern pattern) => "/" + (pattern.RawText ?? "").Trim('/');

    public sealed record JobListResponse(IReadOnlyList<JobResponse> Items);
}

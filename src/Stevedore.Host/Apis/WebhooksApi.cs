using System.Text.Json;
using Microsoft.Extensions.Options;
using Stevedore.Application;
using Stevedore.Application.Triggers;
using Stevedore.Options;

namespace Stevedore.Host.Apis;

public static class WebhooksApi
{
    /// <summary>The call of a webhook: authenticated by the hook's own secret, not by the admin token.</summary>
    public const string HookPath = "/v1/hooks";

    public static IEndpointRouteBuilder MapWebhooksApi(this IEndpointRouteBuilder app)
    {
        var hooks = app.MapGroup("/v1/jobs/{name}/webhooks");

        hooks.MapPost("/", async (string name, HttpRequest request, WebhookService service) =>
        {
            var (body, problem) = await JsonBody.ReadAsync(request, new JsonLimits(64 * 1024), allowEmpty: true);
            if (problem is not null)
            {
                return problem;
            }

            using (var document = body?.Parse())
            {
                var errors = new FieldErrors();
                var draft = document is null ? new WebhookDraft() : ReadWebhook(document.RootElement, errors);
                if (errors.Any)
                {
                    return Problems.Invalid(errors);
                }

                return JobsApi.Respond(await service.CreateAsync(name, draft), created =>
                    Results.Created(WebhookResponse.HookUrl(created.Hook.Id, request), CreatedWebhookResponse.From(created, request)));
            }
        });

        hooks.MapGet("/", async (string name, HttpRequest request, WebhookService service, CancellationToken ct) =>
            JobsApi.Respond(await service.ListAsync(name, ct),
                list => Results.Ok(new WebhookListResponse(list.Select(h => WebhookResponse.From(h, request)).ToList()))));

        hooks.MapDelete("/{id}", async (string name, string id, WebhookService service) =>
            JobsApi.Respond(await service.DeleteAsync(name, id), _ => Results.NoContent()));

        // Any content type, any body up to the payload limit: the raw bytes are the task's payload.
        app.MapPost(HookPath + "/{id}", async (string id, HttpRequest request, WebhookService service, IOptions<QueueOptions> options) =>
        {
            var (body, problem) = await RawBody.ReadAsync(request, options.Value.MaxPayloadBytes);
            if (problem is not null)
            {
                return problem;
            }

            var headers = request.Headers;
            var result = await service.DeliverAsync(new WebhookDelivery
            {
                HookId = id,
                Body = body!,
                ContentType = request.ContentType,
                Token = First(headers, WebhookService.TokenHeader),
                Signature = First(headers, WebhookService.SignatureHeader),
                DeliveryId = First(headers, "Idempotency-Key") ?? First(headers, "X-Request-Id"),
                Header = name => First(headers, name),
            });
            return JobsApi.Respond(result, r =>
                Results.Json(new HookAcceptedResponse(r.Task.Id, r.Existing), statusCode: StatusCodes.Status202Accepted));
        });

        return app;
    }

    /// <summary>True for exactly the call of a webhook (POST /v1/hooks/{id}), which the admin token does not guard.</summary>
    public static bool IsHookCall(HttpRequest request) =>
        HttpMethods.IsPost(request.Method)
        && request.Path.StartsWithSegments(HookPath, out var rest)
        && rest.Value is { Length: > 1 } tail && tail.IndexOf('/', 1) < 0;

    private static string? First(IHeaderDictionary headers, string name) =>
        headers.TryGetValue(name, out var values) && values.Count > 0 ? values[0] : null;

    private static WebhookDraft ReadWebhook(JsonElement body, FieldErrors errors)
    {
        var draft = new WebhookDraft();
        foreach (var property in body.EnumerateObject())
        {
            if (property.Name == "headers")
            {
                draft = draft with { Headers = property.Value.ValueKind == JsonValueKind.Null ? null : JsonInput.StringArray(property.Value, "headers", errors) };
            }
            else
            {
                JsonInput.Unknown(property.Name, ["headers"], errors);
            }
        }

        return draft;
    }
}

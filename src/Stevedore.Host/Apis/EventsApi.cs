using Microsoft.Extensions.Options;
using Stevedore.Application.Triggers;
using Stevedore.Options;

namespace Stevedore.Host.Apis;

public static class EventsApi
{
    public static IEndpointRouteBuilder MapEventsApi(this IEndpointRouteBuilder app)
    {
        // The raw body is the payload of every subscriber's task, sent as JSON: a JSON content type is required (415
        // otherwise), so that no cross-site form post can publish. Only a webhook's call takes any content type.
        app.MapPost("/v1/events/{topic}", async (string topic, HttpRequest request, EventService service, IOptions<QueueOptions> options, CancellationToken ct) =>
        {
            var (body, problem) = await RawBody.ReadAsync(request, options.Value.MaxPayloadBytes, jsonOnly: true);
            if (problem is not null)
            {
                return problem;
            }

            var eventId = request.Headers.TryGetValue("Idempotency-Key", out var key) && key.Count > 0 ? key[0] : null;
            var result = await service.PublishAsync(topic, body!, eventId, ct);
            return JobsApi.Respond(result, published => Results.Json(
                new EventAcceptedResponse(published.Select(p => p.TaskId).ToList(), published.Select(p => p.Job).ToList()),
                statusCode: StatusCodes.Status202Accepted));
        });

        return app;
    }
}

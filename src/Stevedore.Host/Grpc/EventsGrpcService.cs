using Grpc.Core;
using Stevedore.Application.Triggers;
using V1 = Stevedore.Api.V1;

namespace Stevedore.Host.Grpc;

/// <summary><c>stevedore.v1.Events</c>: a thin adapter over <see cref="EventService"/>.</summary>
public sealed class EventsGrpcService(EventService events) : V1.Events.EventsBase
{
    public override async Task<V1.PublishEventResponse> PublishEvent(V1.PublishEventRequest request, ServerCallContext context)
    {
        var published = (await events.PublishAsync(
            request.Topic, request.Payload.Memory, request.HasIdempotencyKey ? request.IdempotencyKey : null, context.CancellationToken)).Unwrap();
        var response = new V1.PublishEventResponse();
        response.TaskIds.AddRange(published.Select(p => p.TaskId));
        response.Jobs.AddRange(published.Select(p => p.Job));
        return response;
    }
}

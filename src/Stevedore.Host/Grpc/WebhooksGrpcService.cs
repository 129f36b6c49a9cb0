using Grpc.Core;
using Stevedore.Application.Triggers;
using V1 = Stevedore.Api.V1;

namespace Stevedore.Host.Grpc;

/// <summary><c>stevedore.v1.Webhooks</c>: a thin adapter over <see cref="WebhookService"/>. Hooks are called over HTTP.</summary>
public sealed class WebhooksGrpcService(WebhookService webhooks, HookUrls urls) : V1.Webhooks.WebhooksBase
{
    public override async Task<V1.CreateWebhookResponse> CreateWebhook(V1.CreateWebhookRequest request, ServerCallContext context)
    {
        var draft = new WebhookDraft { Headers = request.Headers.Count == 0 ? null : request.Headers };
        var created = (await webhooks.CreateAsync(request.Job, draft)).Unwrap();
        return new V1.CreateWebhookResponse
        {
            Webhook = GrpcTriggerMapping.ToMessage(created.Hook, urls.BaseFor(context)),
            Secret = created.Secret,
        };
    }

    public override async Task<V1.ListWebhooksResponse> ListWebhooks(V1.ListWebhooksRequest request, ServerCallContext context)
    {
        var list = (await webhooks.ListAsync(request.Job, context.CancellationToken)).Unwrap();
        var baseUrl = urls.BaseFor(context);
        var response = new V1.ListWebhooksResponse();
        response.Items.AddRange(list.Select(h => GrpcTriggerMapping.ToMessage(h, baseUrl)));
        return response;
    }

    public override async Task<V1.DeleteWebhookResponse> DeleteWebhook(V1.DeleteWebhookRequest request, ServerCallContext context)
    {
        (await webhooks.DeleteAsync(request.Job, request.Id)).Unwrap();
        return new V1.DeleteWebhookResponse();
    }
}

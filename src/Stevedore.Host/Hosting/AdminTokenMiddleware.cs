using Microsoft.Extensions.Options;
using Stevedore.Host.Apis;
using Stevedore.Options;
using System.Security.Cryptography;
using System.Text;

namespace Stevedore.Host.Hosting;

/// <summary>
/// When <c>Stevedore:Auth:AdminToken</c> is set, every <c>/v1</c>, <c>/dashboard</c> and <c>/metrics</c> call must
/// carry it (<c>/metrics</c> not when <c>Stevedore:Metrics:Anonymous</c>), except the call of a webhook
/// (<c>POST /v1/hooks/{id}</c>), which carries the hook's own secret instead.
/// </summary>
public sealed class AdminTokenMiddleware(RequestDelegate next, IConfiguration configuration, IOptions<MetricsOptions> metrics)
{
    private readonly byte[]? _token = configuration[StevedoreHost.AdminTokenKey] is { Length: > 0 } t ? Encoding.UTF8.GetBytes(t) : null;
    private readonly bool _metricsOpen = metrics.Value.Anonymous;

    public async Task InvokeAsync(HttpContext context)
    {
        var path = context.Request.Path;
        if (_token is null
            || !(path.StartsWithSegments("/v1") || path.StartsWithSegments("/dashboard")
                || (!_metricsOpen && path.StartsWithSegments(Telemetry.MetricsPath)))
            || WebhooksApi.IsHookCall(context.Request))
        {
            await next(context);
            return;
        }

        var header = context.Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";
            await Problems.Write(context, StatusCodes.Status401Unauthorized,
                "This server needs the admin token: send the header 'Authorization: Bearer <token>' (the value of Stevedore:Auth:AdminToken).");
            return;
        }

        var given = Encoding.UTF8.GetBytes(header["Bearer ".Length..].Trim());
        if (!CryptographicOperations.FixedTimeEquals(given, _token))
        {
            await Problems.Write(context, StatusCodes.Status403Forbidden, "The bearer token is not this server's admin token.");
            return;
        }

        await next(context);
    }
}

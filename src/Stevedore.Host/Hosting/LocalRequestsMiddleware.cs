using System.Net;
using Stevedore.Host.Apis;

namespace Stevedore.Host.Hosting;

/// <summary>
/// Without an admin token, the host answers this machine's own requests only, on every path:
/// <list type="bullet">
/// <item>from a loopback address (403 otherwise: nothing else should reach a loopback-bound host anyway);</item>
/// <item>addressed to one of its loopback names — localhost or a loopback IP, with a port it listens on (421
/// otherwise): a web page that rebinds its own DNS name to 127.0.0.1 still sends its own name as Host;</item>
/// <item>not sent by a browser on behalf of another site (403): an <c>Origin</c> other than the host's own, or
/// <c>Sec-Fetch-Site</c> <c>cross-site</c> or <c>same-site</c> (another port of localhost is the same site).</item>
/// </list>
/// With a token none of this applies: a browser cannot send the bearer header cross-site without CORS, which the host
/// does not enable.
/// </summary>
public sealed class LocalRequestsMiddleware(RequestDelegate next, BoundAddresses bound)
{
    public async Task InvokeAsync(HttpContext context)
    {
        if (Refusal(context) is { } refusal)
        {
            await Problems.Write(context, refusal.Status, refusal.Detail);
            return;
        }

        await next(context);
    }

    private (int Status, string Detail)? Refusal(HttpContext context)
    {
        if (context.Connection.RemoteIpAddress is { } remote && !IPAddress.IsLoopback(remote.IsIPv4MappedToIPv6 ? remote.MapToIPv4() : remote))
        {
            return (StatusCodes.Status403Forbidden,
                $"This server has no admin token, so it answers requests from this machine only. Set {StevedoreHost.AdminTokenKey} to serve other machines.");
        }

        var host = context.Request.Host;
        if (!host.HasValue || !BoundAddresses.IsLoopbackName(host.Host) || !bound.Ports.Contains(host.Port ?? DefaultPort(context)))
        {
            return (StatusCodes.Status421MisdirectedRequest,
                $"This server has no admin token, so it answers only requests addressed to its own loopback names (Host {Example(context)}); " +
                $"the Host was '{Shorten(host.Value ?? "")}'. Set {StevedoreHost.AdminTokenKey} to serve other names.");
        }

        var origin = context.Request.Headers.Origin;
        if (origin.Count > 0 && (origin.Count > 1 || !string.Equals(origin.ToString(), $"{context.Request.Scheme}://{host.Value}", StringComparison.OrdinalIgnoreCase)))
        {
            return (StatusCodes.Status403Forbidden,
                $"Cross-site request refused: the Origin '{Shorten(origin.ToString())}' is not this server's own ({context.Request.Scheme}://{host.Value}). " +
                "Web pages of other sites may not drive a server without an admin token.");
        }

        var site = context.Request.Headers["Sec-Fetch-Site"];
        if (site.Count > 0 && !(site.Count == 1 && site[0] is "same-origin" or "none"))
        {
            return (StatusCodes.Status403Forbidden,
                $"Cross-site request refused (Sec-Fetch-Site: {Shorten(site.ToString())}): web pages of other sites may not drive a server without an admin token.");
        }

        return null;
    }

    private static int DefaultPort(HttpContext context) => context.Request.IsHttps ? 443 : 80;

    private string Example(HttpContext context)
    {
        var port = context.Connection.LocalPort is > 0 and var local ? local : bound.Ports.FirstOrDefault();
        return $"127.0.0.1:{port}, localhost:{port} or [::1]:{port}";
    }

    private static string Shorten(string text) => text.Length <= 80 ? text : text[..77] + "...";
}

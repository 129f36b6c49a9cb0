using Grpc.Core;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;

namespace Stevedore.Host.Grpc;

/// <summary>
/// Where a webhook is called, as told to a gRPC caller. Hooks are called over HTTP, so the URL is the host's HTTP
/// endpoint, not the gRPC one the caller used: <see cref="WebhookUrlOptions.PublicUrl"/> when set (a load balancer in
/// front), else the HTTP endpoint this host listens on, with the name the caller reached this host by when that
/// endpoint listens on every interface. (The HTTP API answers with the address its caller used.)
/// </summary>
public sealed class HookUrls(IServer server, IOptions<WebhookUrlOptions> options)
{
    private static readonly string[] s_wildcards = ["0.0.0.0", "[::]", "::", "+", "*"];

    /// <summary>The path of a hook's call on the HTTP endpoint.</summary>
    public static string Path(string id) => $"/v1/hooks/{id}";

    /// <summary>Scheme, host, port (and path base) of hook URLs for this call, without a trailing slash.</summary>
    public string BaseFor(ServerCallContext context)
    {
        if (options.Value.PublicUrl is { } url)
        {
            return url.ToString().TrimEnd('/');
        }

        var http = context.GetHttpContext();
        var grpcPort = http.Connection.LocalPort;
        var endpoint = (server.Features.Get<IServerAddressesFeature>()?.Addresses ?? [])
            .Select(Parse)
            .FirstOrDefault(a => a is not null && a.Port != grpcPort);
        if (endpoint is null)
        {
            return "";
        }

        var host = s_wildcards.Contains(endpoint.Host) ? http.Request.Host.Host : endpoint.Host;
        var hostPart = host.Contains(':', StringComparison.Ordinal) && !host.StartsWith('[') ? $"[{host}]" : host;
        return $"{endpoint.Scheme}://{hostPart}:{endpoint.Port}{endpoint.PathBase.TrimEnd('/')}";
    }

    private static BindingAddress? Parse(string address)
    {
        try
        {
            return BindingAddress.Parse(address);
        }
        catch (FormatException)
        {
            return null;
        }
    }
}

/// <summary>Settings of webhook URLs (section <c>Stevedore:Webhooks</c>).</summary>
public sealed class WebhookUrlOptions
{
    public const string Section = "Stevedore:Webhooks";

    /// <summary>
    /// The address callers reach this host's HTTP endpoint at, e.g. <c>https://jobs.example.com</c>; hook URLs given
    /// out over gRPC start with it. Unset: the HTTP endpoint's own address.
    /// </summary>
    /// <remarks>Set it when the HTTP endpoints sit behind a load balancer or proxy.</remarks>
    public Uri? PublicUrl { get; set; }
}

/// <summary>Refuses a <see cref="WebhookUrlOptions.PublicUrl"/> that is not an absolute http(s) address.</summary>
public sealed class WebhookUrlOptionsValidator : IValidateOptions<WebhookUrlOptions>
{
    public ValidateOptionsResult Validate(string? name, WebhookUrlOptions options) =>
        options.PublicUrl is not { } url || (url.IsAbsoluteUri && url.Scheme is "http" or "https" && url.Query.Length == 0 && url.Fragment.Length == 0)
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail($"{WebhookUrlOptions.Section}:PublicUrl '{options.PublicUrl}' must be an absolute http:// or https:// address without query, such as https://jobs.example.com.");
}

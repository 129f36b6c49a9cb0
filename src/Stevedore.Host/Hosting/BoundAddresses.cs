using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Stevedore.Host.Hosting;

/// <summary>
/// The addresses Kestrel actually listens on, whatever set them (Kestrel endpoints, <c>--urls</c>,
/// <c>ASPNETCORE_URLS</c>, <c>ASPNETCORE_HTTP_PORTS</c>, code): known once the server has started.
/// </summary>
public sealed class BoundAddresses(IServer server)
{
    /// <summary>Read each time: before the start (and while binding) the list changes.</summary>
    public IReadOnlyList<Uri> Addresses =>
        (server.Features.Get<IServerAddressesFeature>()?.Addresses ?? [])
            .Select(a => Uri.TryCreate(a, UriKind.Absolute, out var uri) ? uri : null)
            .OfType<Uri>()
            .ToList();

    /// <summary>Ports this server listens on.</summary>
    public IReadOnlySet<int> Ports => Addresses.Select(a => a.Port).ToHashSet();

    /// <summary>Addresses reachable from beyond this machine (any address, or an address that is not loopback).</summary>
    public IReadOnlyList<Uri> BeyondLoopback => Addresses.Where(a => !IsLoopbackName(a.Host) && a.Host != "unix").ToList();

    /// <summary>localhost or a loopback IP literal (127.0.0.0/8, [::1]).</summary>
    public static bool IsLoopbackName(string host) =>
        host.Equals("localhost", StringComparison.OrdinalIgnoreCase)
        || (IPAddress.TryParse(host.TrimStart('[').TrimEnd(']'), out var ip) && IPAddress.IsLoopback(ip));
}

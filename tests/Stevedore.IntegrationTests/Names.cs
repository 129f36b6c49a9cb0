using System.Net;
using System.Net.Sockets;

namespace Stevedore.IntegrationTests;

/// <summary>What tests sharing one server, database and machine use to stay out of each other's way.</summary>
public static class Names
{
    /// <summary>A job (or cluster, database) name no other test uses: the prefix and 8 random hex digits.</summary>
    public static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid().ToString("N")[..8]}";

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

namespace Stevedore.Client;

/// <summary>Where a <see cref="StevedoreClient"/> finds its server and how it proves who it is.</summary>
public sealed class StevedoreClientOptions
{
    /// <summary>The default gRPC address of a Stevedore host on this machine.</summary>
    public static readonly Uri DefaultAddress = new("http://127.0.0.1:8081");

    /// <summary>The server's gRPC endpoint (<c>Kestrel:Endpoints:Grpc:Url</c> on the host). Cleartext <c>http://</c> or TLS <c>https://</c>.</summary>
    public Uri Address { get; set; } = DefaultAddress;

    /// <summary>The server's admin token (<c>Stevedore:Auth:AdminToken</c>), sent as <c>authorization: Bearer …</c>; null when the server has none.</summary>
    public string? Token { get; set; }
}

using Microsoft.AspNetCore.Connections;
using Orleans.Configuration;
using Orleans.Connections.Security;

namespace Stevedore.Host.Cluster;

/// <summary>
/// Puts mutual TLS on every Orleans connection: silo to silo (both ends) and client to gateway. Each end shows its
/// certificate and admits the other only under <see cref="ClusterCredentials.Admits"/>; a connection that fails the
/// handshake is closed before a single Orleans byte is read or written.
/// </summary>
public static partial class ClusterTls
{
    /// <summary>TLS on this silo's inbound silo and gateway connections and on its outbound silo connections.</summary>
    public static ISiloBuilder UseClusterTls(this ISiloBuilder silo, ClusterCredentials credentials)
    {
        silo.Services.AddSingleton(credentials);
        return silo.Configure<SiloConnectionOptions>(connections =>
        {
            connections.ConfigureSiloInboundConnection(c => c.UseServerTls(Options(credentials, c)));
            connections.ConfigureGatewayInboundConnection(c => c.UseServerTls(Options(credentials, c)));
            connections.ConfigureSiloOutboundConnection(c => c.UseClientTls(Options(credentials, c)));
        });
    }

    /// <summary>TLS on an Orleans client's gateway connections, with a certificate the cluster's CA signed.</summary>
    public static IClientBuilder UseClusterTls(this IClientBuilder client, ClusterCredentials credentials) =>
        client.Configure<ClientConnectionOptions>(connections =>
            connections.ConfigureConnection(c => c.UseClientTls(Options(credentials, c))));

    private static TlsOptions Options(ClusterCredentials credentials, IConnectionBuilder connection)
    {
        var log = (connection.ApplicationServices.GetService<ILoggerFactory>() ?? Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance)
            .CreateLogger("Stevedore.ClusterTls");
        return new TlsOptions
        {
            LocalCertificate = credentials.Certificate,
            RemoteCertificateMode = RemoteCertificateMode.RequireCertificate,
            ClientCertificateMode = RemoteCertificateMode.RequireCertificate,
            CheckCertificateRevocation = false,
            // Platform policy errors (no system-trusted root, no host name to match: silos connect by address) are
            // replaced by the cluster's own rule.
            RemoteCertificateValidation = (certificate, chain, _) =>
            {
                if (credentials.Admits(certificate, chain) is not { } problem)
                {
                    return true;
                }

                LogRefused(log, problem);
                return false;
            },
        };
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused an Orleans connection: the peer's {Problem}.")]
    private static partial void LogRefused(ILogger logger, string problem);
}

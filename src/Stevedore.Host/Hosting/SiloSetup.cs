using System.Net;
using Microsoft.Extensions.Options;
using Npgsql;
using Orleans.Configuration;
using Orleans.Dashboard;
using Orleans.Serialization;
using Stevedore.Grains.Schedules;
using Stevedore.Host.Cluster;

namespace Stevedore.Host.Hosting;

/// <summary>
/// The Orleans silo of a host: clustering, storage and reminders for the chosen backend, membership tuning, and mutual
/// TLS on the silo and gateway ports. A silo or gateway port that would listen beyond loopback requires TLS.
/// </summary>
public static class SiloSetup
{
    public const string AdvertisedIPKey = "Orleans:AdvertisedIP";

    /// <summary>Grain locations a silo caches: job grains, queue partitions, worker nodes, schedules and the like.</summary>
    public const int DirectoryCacheSize = 20_000;

    /// <summary>
    /// Adds the silo to the host. <paramref name="dataSource"/> is null for the embedded in-memory silo;
    /// <paramref name="configure"/> adds to the silo (e.g. trace propagation through grain calls).
    /// </summary>
    /// <exception cref="StartupException">A silo setting cannot work (the message names the key).</exception>
    public static void AddStevedoreSilo(
        this WebApplicationBuilder builder, NpgsqlDataSource? dataSource, string clusterId, int siloPort, int gatewayPort, Action<ISiloBuilder>? configure = null)
    {
        var config = builder.Configuration;
        var tls = LoadTls(config);
        builder.UseOrleans(silo =>
        {
            silo.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = clusterId;
                o.ServiceId = "stevedore";
            });
            if (dataSource is null)
            {
                silo.UseLocalhostClustering(siloPort, gatewayPort, serviceId: "stevedore", clusterId: clusterId);
                silo.AddMemoryGrainStorageAsDefault();
                silo.UseInMemoryReminderService();
            }
            else
            {
                UsePostgres(silo, config, dataSource.ConnectionString, siloPort, gatewayPort);
            }

            if (tls is not null)
            {
                silo.UseClusterTls(tls);
            }

            // Schedule reminders may tick more often than Orleans' default minimum (tests, tight failover).
            var schedules = config.GetSection(ScheduleOptions.Section).Get<ScheduleOptions>() ?? new ScheduleOptions();
            silo.Configure<ReminderOptions>(o => o.MinimumReminderPeriod = TimeSpan.FromTicks(Math.Min(o.MinimumReminderPeriod.Ticks, schedules.ReminderPeriod.Ticks)));
            // Orleans caches up to a million grain locations by default, and its directory-cache-size gauge counts them
            // one by one whenever metrics are collected (the dashboard does every second): with a grain per item (tasks
            // had one until 2026-11-28) that cache fills with items long gone. Locations worth caching are the few
            // long-lived grains.
            silo.Configure<GrainDirectoryOptions>(o => o.CacheSize = DirectoryCacheSize);
            silo.AddDashboard();
            configure?.Invoke(silo);
        });
    }

    /// <summary>
    /// Refuses to start when the silo or gateway port would listen beyond loopback without TLS: anyone who reaches an
    /// open Orleans port can call any grain, admin token or not. Reads the endpoints Orleans will actually bind, so
    /// settings that reach Orleans directly (<c>Orleans:Endpoints:*</c>) are covered too.
    /// </summary>
    /// <exception cref="StartupException">Such a port is configured without <c>Orleans:Tls</c>.</exception>
    public static void RequireTlsBeyondLoopback(IServiceProvider services)
    {
        if (services.GetService<ClusterCredentials>() is not null)
        {
            return;
        }

        var endpoints = services.GetRequiredService<IOptions<EndpointOptions>>().Value;
        var open = new List<string>();
        var silo = ListeningAddress(endpoints.SiloListeningEndpoint, endpoints.AdvertisedIPAddress, endpoints.SiloPort);
        if (!IPAddress.IsLoopback(silo.Address))
        {
            open.Add($"the silo port on {silo}");
        }

        var gateway = ListeningAddress(endpoints.GatewayListeningEndpoint, endpoints.AdvertisedIPAddress, endpoints.GatewayPort);
        if (endpoints.GatewayPort != 0 && !IPAddress.IsLoopback(gateway.Address))
        {
            open.Add($"the gateway port on {gateway}");
        }

        if (open.Count > 0)
        {
            throw new StartupException(
                $"Refusing to open {string.Join(" and ", open)} without TLS: anyone who reaches an open Orleans port can call any grain. " +
                $"Set {ClusterTlsOptions.Key("CertificatePath")}, {ClusterTlsOptions.Key("KeyPath")} and {ClusterTlsOptions.Key("CaPath")} " +
                $"(env Orleans__Tls__CertificatePath, …; make them with `Stevedore.Host certs`), " +
                $"or keep {AdvertisedIPKey} at 127.0.0.1 for a cluster on one machine.");
        }
    }

    private static ClusterCredentials? LoadTls(IConfiguration config)
    {
        var options = config.GetSection(ClusterTlsOptions.Section).Get<ClusterTlsOptions>() ?? new ClusterTlsOptions();
        var result = new ClusterTlsOptionsValidator().Validate(null, options);
        if (result.Failed)
        {
            throw new StartupException(string.Join(" ", result.Failures));
        }

        return options.Enabled ? ClusterCredentials.Load(options) : null;
    }

    /// <summary>
    /// Lets a database error thrown in a grain reach a caller on another silo as itself. Orleans serializes only
    /// exceptions of the namespaces it lists; any other fails the response with <c>CodecNotFoundException</c>, which
    /// the API cannot tell from a bug (a 500 where a database restart should answer 503 and be tried again).
    /// </summary>
    public static void AllowStorageExceptions(ExceptionSerializationOptions options) => options.SupportedNamespacePrefixes.Add("Npgsql");

    private static void UsePostgres(ISiloBuilder silo, IConfiguration config, string connectionString, int siloPort, int gatewayPort)
    {
        var advertised = IPAddress.TryParse(config[AdvertisedIPKey] ?? "127.0.0.1", out var ip)
            ? ip
            : throw new StartupException($"{AdvertisedIPKey} '{config[AdvertisedIPKey]}' is not an IP address.");
        silo.ConfigureEndpoints(advertised, siloPort, gatewayPort, listenOnAnyHostAddress: !IPAddress.IsLoopback(advertised));
        silo.UseAdoNetClustering(o =>
        {
            o.Invariant = "Npgsql";
            o.ConnectionString = connectionString;
        });
        silo.AddAdoNetGrainStorageAsDefault(o =>
        {
            o.Invariant = "Npgsql";
            o.ConnectionString = connectionString;
        });
        silo.UseAdoNetReminderService(o =>
        {
            o.Invariant = "Npgsql";
            o.ConnectionString = connectionString;
        });
        silo.Configure<ExceptionSerializationOptions>(AllowStorageExceptions);
        silo.Configure<ClusterMembershipOptions>(o =>
        {
            // Notice a dead silo within seconds, not the default half minute.
            o.ProbeTimeout = TimeSpan.FromSeconds(1);
            o.NumMissedProbesLimit = 2;
            o.NumVotesForDeathDeclaration = 1;
            o.TableRefreshTimeout = TimeSpan.FromSeconds(2);
            // A silo that joins ignores table rows whose "I am alive" is stale: with a short period, a silo
            // restarting after a crash does not wait long for the dead row it left behind.
            o.IAmAliveTablePublishTimeout = TimeSpan.FromSeconds(2);
            o.NumMissedTableIAmAliveLimit = 2;
            config.GetSection("Orleans:Membership").Bind(o);
        });
    }

    /// <summary>Where Orleans will listen: the explicit listening endpoint, else the advertised address (null: any).</summary>
    private static IPEndPoint ListeningAddress(IPEndPoint? listening, IPAddress? advertised, int port) =>
        listening ?? new IPEndPoint(advertised ?? IPAddress.Any, port);
}

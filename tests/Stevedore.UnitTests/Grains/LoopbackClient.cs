using System.Net;
using Microsoft.Extensions.Configuration;
using Orleans.Configuration;
using Orleans.TestingHost;

namespace Stevedore.UnitTests.Grains;

/// <summary>
/// Gives a test cluster's client the loopback address instead of letting Orleans find one. To find it, Orleans lists
/// the machine's network interfaces, and .NET's listing throws (an invalid IP address) while Docker adds and removes
/// interfaces: a container or a second engine starting beside the suite failed a cluster's start that way.
/// </summary>
public sealed class LoopbackClient : IClientBuilderConfigurator
{
    public void Configure(IConfiguration configuration, IClientBuilder clientBuilder) =>
        clientBuilder.Configure<ClientMessagingOptions>(o => o.LocalAddress = IPAddress.Loopback);
}

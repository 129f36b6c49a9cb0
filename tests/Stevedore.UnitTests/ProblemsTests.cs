using Microsoft.AspNetCore.Http;
using Orleans.Runtime;
using Stevedore.Host.Apis;

namespace Stevedore.UnitTests;

public class ProblemsTests
{
    public static TheoryData<Exception, int> Cases => new()
    {
        // What a silo answers while the cluster moves grains off a silo that died: wait and try again.
        { Rejected("Unable to connect to endpoint S127.0.0.1:11111:0"), 503 },
        { new Orleans.Runtime.Messaging.ConnectionFailedException("Unable to connect to endpoint"), 503 },
        { new SiloUnavailableException("silo is dead"), 503 },
        { new GatewayTooBusyException(), 503 },
        { new TimeoutException("Response did not arrive on time"), 503 },
        { new Npgsql.NpgsqlException("Exception while reading from stream"), 503 },
        { new InvalidOperationException("wrapped", Rejected("rejected")), 503 },
        { new AggregateException(new System.Net.Sockets.SocketException()), 503 },
        // A bug stays a 500.
        { new InvalidOperationException("a bug"), 500 },
        { new OrleansException("not transient"), 500 },
        { new BadHttpRequestException("bad", 400), 400 },
    };

    /// <summary>Orleans makes these itself (the constructors are internal), as a silo does when a message cannot be delivered.</summary>
    private static Exception Rejected(string message) =>
        (Exception)Activator.CreateInstance(
            typeof(OrleansMessageRejectionException), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance, null, [message], null)!;

    [Theory]
    [MemberData(nameof(Cases))]
    public void StatusFor_ClassifiesPassingFailuresAsUnavailable(Exception exception, int status) =>
        Assert.Equal(status, Problems.StatusFor(exception));
}

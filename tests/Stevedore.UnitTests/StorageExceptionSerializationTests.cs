using System.Net.Sockets;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Orleans.Serialization;
using Stevedore.Host.Apis;
using Stevedore.Host.Hosting;

namespace Stevedore.UnitTests;

/// <summary>
/// A database error in a grain crosses to a caller on another silo as itself, so the API answers 503 (try again), not
/// 500: the soak saw cancels answer 500 (CodecNotFoundException for NpgsqlException) while PostgreSQL restarted.
/// </summary>
public class StorageExceptionSerializationTests
{
    public static TheoryData<Exception> DatabaseErrors() => new()
    {
        new NpgsqlException("Failed to connect to 127.0.0.1:5432", new SocketException((int)SocketError.ConnectionRefused)),
        new PostgresException("terminating connection due to administrator command", "FATAL", "FATAL", "57P01"),
    };

    [Theory]
    [MemberData(nameof(DatabaseErrors))]
    public void ADatabaseError_CrossesSilosAsItself_AndAnswers503(Exception thrown)
    {
        using var services = new ServiceCollection()
            .AddSerializer()
            .Configure<ExceptionSerializationOptions>(SiloSetup.AllowStorageExceptions)
            .BuildServiceProvider();
        var serializer = services.GetRequiredService<Serializer>();

        var received = serializer.Deserialize<Exception>(serializer.SerializeToArray<Exception>(thrown));

        Assert.IsAssignableFrom<NpgsqlException>(received);
        Assert.NotNull(received);
        Assert.Equal(thrown.Message, received.Message);
        Assert.Equal(StatusCodes.Status503ServiceUnavailable, Problems.StatusFor(received));
    }
}

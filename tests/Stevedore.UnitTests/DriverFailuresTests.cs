using System.Net;
using System.Net.Sockets;
using Docker.DotNet;
using Stevedore.Execution;

namespace Stevedore.UnitTests;

public class DriverFailuresTests
{
    public enum Failure
    {
        Refused,
        NoSocketFile,
        RequestFailed,
        ClosedMidAnswer,
        EndOfStream,
        TimedOut,
        WrappedInAggregate,
        EngineRefusedTheContainer,
        EngineLostTheContainer,
        EngineErrorAfterAReset,
        HostSideIo,
        HostSideBug,
    }

    private static Exception Make(Failure failure) => failure switch
    {
        Failure.Refused => new HttpRequestException("Connection refused", new SocketException((int)SocketError.ConnectionRefused)),
        Failure.NoSocketFile => new SocketException((int)SocketError.AddressNotAvailable),
        Failure.RequestFailed => new HttpRequestException("An error occurred while sending the request."),
        Failure.ClosedMidAnswer => new IOException("Unable to read data from the transport connection", new SocketException((int)SocketError.ConnectionReset)),
        Failure.EndOfStream => new EndOfStreamException(),
        Failure.TimedOut => new TimeoutException("The operation has timed out."),
        Failure.WrappedInAggregate => new AggregateException(new InvalidOperationException("x"), new HttpRequestException("reset")),
        Failure.EngineRefusedTheContainer => new DockerApiException(HttpStatusCode.BadRequest, "{\"message\":\"invalid reference format\"}"),
        Failure.EngineLostTheContainer => new DockerContainerNotFoundException(HttpStatusCode.NotFound, "{\"message\":\"No such container\"}"),
        Failure.EngineErrorAfterAReset => new InvalidOperationException("wrapped", new DockerApiException(HttpStatusCode.InternalServerError, "{}")),
        Failure.HostSideIo => new IOException("No space left on device"),
        Failure.HostSideBug => new InvalidOperationException("bug"),
        _ => throw new ArgumentOutOfRangeException(nameof(failure)),
    };

    public static TheoryData<Failure, bool, DriverFailure> Cases => new()
    {
        // what escaped the driver, does the engine answer a ping right after → what it means
        { Failure.Refused, false, DriverFailure.EngineLost },
        { Failure.Refused, true, DriverFailure.EngineLost }, // restarted in between: its containers went with it
        { Failure.NoSocketFile, false, DriverFailure.EngineLost },
        { Failure.RequestFailed, true, DriverFailure.EngineLost },
        { Failure.ClosedMidAnswer, false, DriverFailure.EngineLost },
        { Failure.ClosedMidAnswer, true, DriverFailure.EngineLost },
        { Failure.EndOfStream, true, DriverFailure.EngineLost },
        { Failure.TimedOut, true, DriverFailure.EngineLost },
        { Failure.WrappedInAggregate, true, DriverFailure.EngineLost },
        { Failure.EngineRefusedTheContainer, true, DriverFailure.TaskError },
        { Failure.EngineRefusedTheContainer, false, DriverFailure.TaskError }, // it answered: the refusal stands
        { Failure.EngineLostTheContainer, true, DriverFailure.TaskError },
        { Failure.EngineErrorAfterAReset, false, DriverFailure.TaskError },
        { Failure.HostSideIo, true, DriverFailure.TaskError },
        { Failure.HostSideIo, false, DriverFailure.EngineLost },
        { Failure.HostSideBug, true, DriverFailure.TaskError },
        { Failure.HostSideBug, false, DriverFailure.EngineLost },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Judge_TellsAnEngineThatWentAwayFromAnAttemptThatFailed(Failure failure, bool engineAnswers, DriverFailure expected) =>
        Assert.Equal(expected, DriverFailures.Judge(Make(failure), engineAnswers));
}

using System.Net.Http;
using System.Net.Sockets;
using Docker.DotNet;

namespace Stevedore.Execution;

/// <summary>What a container driver's failure means for the attempt it cut short.</summary>
public enum DriverFailure
{
    /// <summary>The attempt itself went wrong (the engine answered, with a refusal): it fails and uses up a retry.</summary>
    TaskError,

    /// <summary>
    /// The container engine went away: the attempt ends as <c>worker lost</c> (no retry used, counted toward the limit
    /// of lost attempts) and runs again once an engine answers; the node takes no work meanwhile.
    /// </summary>
    EngineLost,
}

/// <summary>
/// Judges an exception that escaped the container driver. Pure: the worker gathers the exception and whether the engine
/// answers a ping right after, this decides, and a table of cases tests it without an engine.
/// </summary>
public static class DriverFailures
{
    /// <summary>
    /// An engine that answered with an error (<see cref="DockerApiException"/>) was there: the attempt's own failure.
    /// A broken connection (refused, reset, closed mid-answer, timed out) is the engine going away, whether or not it
    /// answers again by the time it is asked: it may have restarted in between, and its containers with it. Anything
    /// else (a host-side error) counts as the engine going away only when the engine does not answer now.
    /// </summary>
    public static DriverFailure Judge(Exception failure, bool engineAnswers)
    {
        if (Chain(failure).Any(e => e is DockerApiException))
        {
            return DriverFailure.TaskError;
        }

        if (IsConnectionFailure(failure))
        {
            return DriverFailure.EngineLost;
        }

        return engineAnswers ? DriverFailure.TaskError : DriverFailure.EngineLost;
    }

    /// <summary>True when the exception, or one it wraps, says the connection to the engine failed.</summary>
    public static bool IsConnectionFailure(Exception failure) =>
        Chain(failure).Any(e => e is SocketException or HttpRequestException or HttpIOException or EndOfStreamException or TimeoutException);

    private static IEnumerable<Exception> Chain(Exception failure)
    {
        var pending = new Stack<Exception>();
        pending.Push(failure);
        while (pending.Count > 0)
        {
            var e = pending.Pop();
            yield return e;
            if (e is AggregateException aggregate)
            {
                foreach (var inner in aggregate.InnerExceptions)
                {
                    pending.Push(inner);
                }
            }
            else if (e.InnerException is { } inner)
            {
                pending.Push(inner);
            }
        }
    }
}

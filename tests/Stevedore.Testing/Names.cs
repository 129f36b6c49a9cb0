using System.Net;
using System.Net.Sockets;

namespace Stevedore.Testing;

/// <summary>What tests sharing one server, database and machine use to stay out of each other's way.</summary>
public static class Names
{
    // Below Linux's ephemeral range (32768–60999), where bind-to-0 listeners and outgoing connections take their
    // ports, and apart from the Orleans test cluster's range (22300–30000): a port handed out here is not taken by
    // the machine between the check and the bind, unless another program picks it on purpose.
    private const int FirstPort = 12000;
    private const int LastPort = 22000;
    private static readonly Lock s_portLock = new();
    private static int s_nextPort = FirstPort + Random.Shared.Next(LastPort - FirstPort);

    /// <summary>A job (or cluster, database) name no other test uses: the prefix and 8 random hex digits.</summary>
    public static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid().ToString("N")[..8]}";

    /// <summary>This test run (scripts/test sets <c>STEVEDORE_TEST_RUN</c>; otherwise one per process).</summary>
    public static string Run { get; } = Environment.GetEnvironmentVariable("STEVEDORE_TEST_RUN") ?? Guid.NewGuid().ToString("N")[..8];

    /// <summary>
    /// A worker node name for a test host: <c>it-&lt;run&gt;-&lt;8 hex&gt;</c>. Its containers carry it, so its fixture removes
    /// them on dispose, and scripts/test removes whatever this run's nodes still left (a test host that crashed).
    /// </summary>
    public static string Node() => Unique($"it-{Run}");

    /// <summary>
    /// A loopback port for a listener that cannot bind port 0 and say which it got (an Orleans silo or gateway):
    /// free when checked, and never handed out twice by this process. Another program may still take it first;
    /// the fixtures then start again on new ports (<see cref="IsAddressInUse"/>).
    /// </summary>
    public static int FreePort()
    {
        lock (s_portLock)
        {
            for (var tries = 0; tries <= LastPort - FirstPort; tries++)
            {
                var port = s_nextPort;
                s_nextPort = port == LastPort ? FirstPort : port + 1;
                if (IsFree(port))
                {
                    return port;
                }
            }
        }

        throw new InvalidOperationException($"No free loopback port between {FirstPort} and {LastPort}.");
    }

    /// <summary>
    /// Starts something that listens on ports from <see cref="FreePort"/>. When another program took one between the
    /// check and the bind, <paramref name="undo"/> cleans up the failed start and it starts again on new ports, up to
    /// <paramref name="tries"/> times in all.
    /// </summary>
    public static async Task<T> StartOnFreePortsAsync<T>(Func<Task<T>> start, Func<Task> undo, int tries = 3)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await start();
            }
            catch (Exception ex) when (attempt < tries && IsAddressInUse(ex))
            {
                await undo();
            }
        }
    }

    /// <summary>True when <paramref name="error"/> (or what it wraps) or a process's output says a port was taken.</summary>
    public static bool IsAddressInUse(Exception? error)
    {
        for (var e = error; e is not null; e = e.InnerException)
        {
            if (e is SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse } || IsAddressInUse(e.Message))
            {
                return true;
            }

            if (e is AggregateException aggregate && aggregate.InnerExceptions.Any(IsAddressInUse))
            {
                return true;
            }
        }

        return false;
    }

    public static bool IsAddressInUse(string output) => output.Contains("address already in use", StringComparison.OrdinalIgnoreCase);

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}

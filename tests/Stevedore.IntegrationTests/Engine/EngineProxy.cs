using System.Collections.Concurrent;
using System.Net.Sockets;

namespace Stevedore.IntegrationTests.Engine;

/// <summary>
/// A unix socket of the test's own in front of the shared Docker Engine: a host pointed at it reaches the real engine,
/// and <see cref="CutAsync"/> makes that engine go away for the host alone — new connections are refused (the socket
/// file is gone) and open ones dropped — without touching the engine the other tests use. Containers started through
/// it keep running on the real engine meanwhile, as they would behind an engine that lost its API.
/// </summary>
public sealed class EngineProxy : IAsyncDisposable
{
    private const string EngineSocket = "/var/run/docker.sock";

    private readonly ConcurrentDictionary<Socket, bool> _open = new();
    private readonly ConcurrentDictionary<Socket, bool> _held = new();
    private readonly Lock _lock = new();
    private Socket? _listener;
    private Task _accepting = Task.CompletedTask;
    private volatile bool _silent;
    private int _heldCount;

    public EngineProxy()
    {
        SocketPath = Path.Combine(Path.GetTempPath(), $"{Names.Unique("stevedore-engine")}.sock");
        Restore();
    }

    public string SocketPath { get; }

    /// <summary>The value for <c>Stevedore:Docker:Endpoint</c>.</summary>
    public string Endpoint => $"unix://{SocketPath}";

    /// <summary>Connections accepted while <see cref="Silence"/> held them: each a request the host waited on in vain.</summary>
    public int HeldConnections => Volatile.Read(ref _heldCount);

    /// <summary>
    /// The engine accepts connections and says nothing, as a starting or stuck <c>dockerd</c> does: every request made
    /// from now on waits until <see cref="Restore"/> or <see cref="CutAsync"/> drops it.
    /// </summary>
    public void Silence()
    {
        lock (_lock)
        {
            _silent = true;
            Listen();
        }
    }

    /// <summary>Listens (again): the engine answers through the proxy; connections held in silence are dropped.</summary>
    public void Restore()
    {
        lock (_lock)
        {
            _silent = false;
            DropHeld();
            Listen();
        }
    }

    // Under _lock.
    private void Listen()
    {
        if (_listener is not null)
        {
            return;
        }

        File.Delete(SocketPath);
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(SocketPath));
        listener.Listen(128);
        _listener = listener;
        _accepting = AcceptAsync(listener);
    }

    /// <summary>The engine goes away: no one can connect, and every open connection is dropped.</summary>
    public async Task CutAsync()
    {
        Task accepting;
        lock (_lock)
        {
            if (_listener is null)
            {
                return;
            }

            _listener.Dispose();
            _listener = null;
            File.Delete(SocketPath);
            accepting = _accepting;
        }

        await accepting;
        foreach (var socket in _open.Keys)
        {
            Drop(socket);
        }

        DropHeld();
    }

    private async Task AcceptAsync(Socket listener)
    {
        while (true)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync();
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                return; // cut
            }

            _ = PipeAsync(client);
        }
    }

    private void DropHeld()
    {
        foreach (var socket in _held.Keys)
        {
            Drop(socket);
            _held.TryRemove(socket, out _);
        }
    }

    private async Task PipeAsync(Socket client)
    {
        if (_silent)
        {
            _held[client] = true;
            Interlocked.Increment(ref _heldCount);
            return;
        }

        var engine = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _open[client] = true;
        _open[engine] = true;
        try
        {
            await engine.ConnectAsync(new UnixDomainSocketEndPoint(EngineSocket));
            // Each direction ends on its own: a client that closes its writing side (the end of a container's stdin)
            // still reads the container's output.
            await Task.WhenAll(CopyAsync(client, engine), CopyAsync(engine, client));
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }
        finally
        {
            Drop(client);
            Drop(engine);
            _open.TryRemove(client, out _);
            _open.TryRemove(engine, out _);
        }
    }

    private static async Task CopyAsync(Socket from, Socket to)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer, SocketFlags.None);
                if (read == 0)
                {
                    to.Shutdown(SocketShutdown.Send);
                    return;
                }

                await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None);
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // One side went: so does the other.
            Drop(from);
            Drop(to);
        }
    }

    private static void Drop(Socket socket)
    {
        try
        {
            socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }

        socket.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        await CutAsync();
        File.Delete(SocketPath);
    }
}

using System.Net.Sockets;
using System.Text;

namespace Stevedore.IntegrationTests.Security;

/// <summary>
/// HTTP/1.1 over a bare socket, for what HttpClient will not send: odd request lines and headers, bodies shorter than
/// declared, and requests whose answer must come before the body has been sent.
/// </summary>
public static class RawHttp
{
    /// <summary>The answer's status line and headers (its body is not read), or null when the server closed without one.</summary>
    public sealed record Answer(int Status, string Head);

    /// <summary>
    /// Connects, writes <paramref name="request"/>, optionally closes the sending side, and reads the answer's head
    /// until <paramref name="timeout"/>. Throws TimeoutException when no answer came in time.
    /// </summary>
    public static async Task<Answer?> SendAsync(Uri server, byte[] request, TimeSpan timeout, bool closeSending = false)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var deadline = new CancellationTokenSource(timeout);
        await socket.ConnectAsync(server.Host, server.Port, deadline.Token);
        try
        {
            await socket.SendAsync(request, SocketFlags.None, deadline.Token);
            if (closeSending)
            {
                socket.Shutdown(SocketShutdown.Send);
            }
        }
        catch (SocketException)
        {
            // The server may answer and close before it has taken everything: read what it said.
        }

        return await ReadHeadAsync(socket, deadline.Token, timeout);
    }

    private static async Task<Answer?> ReadHeadAsync(Socket socket, CancellationToken deadline, TimeSpan timeout)
    {
        var head = new StringBuilder();
        var buffer = new byte[4096];
        try
        {
            while (!head.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
            {
                var read = await socket.ReceiveAsync(buffer, SocketFlags.None, deadline);
                if (read == 0)
                {
                    break;
                }

                head.Append(Encoding.Latin1.GetString(buffer, 0, read));
            }
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"no answer within {timeout.TotalSeconds:0} s (got so far: {head})");
        }
        catch (SocketException) when (head.Length == 0)
        {
            return null;
        }

        var text = head.ToString();
        if (!text.StartsWith("HTTP/1.", StringComparison.Ordinal) || text.Length < 12)
        {
            return null;
        }

        return new Answer(int.Parse(text.AsSpan(9, 3), System.Globalization.CultureInfo.InvariantCulture), text.Split("\r\n\r\n")[0]);
    }

    /// <summary>A request with the given head lines (no Host added) and body bytes.</summary>
    public static byte[] Request(string requestLine, IEnumerable<string> headers, ReadOnlySpan<byte> body)
    {
        var head = new StringBuilder(requestLine).Append("\r\n");
        foreach (var header in headers)
        {
            head.Append(header).Append("\r\n");
        }

        head.Append("\r\n");
        var bytes = Encoding.Latin1.GetBytes(head.ToString());
        return [.. bytes, .. body];
    }
}

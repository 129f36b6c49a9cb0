using System.Buffers.Text;
using System.Globalization;
using System.Text;

namespace Stevedore.Execution.Hot;

/// <summary>
/// The hot runtime protocol (version 1), spoken on a hot container's own standard input and output; it opens no
/// socket and no file of the host's to the container.
/// <para>
/// For each task the worker writes one line <c>STEVEDORE-INVOKE &lt;task id&gt; &lt;attempt&gt; &lt;payload bytes&gt;</c>
/// followed by exactly that many payload bytes on the container's standard input. The handler answers on standard
/// output with one line <c>STEVEDORE-RESULT ok &lt;n&gt;</c> followed by exactly <c>n</c> result bytes (the task
/// succeeds, the bytes are its result), or <c>STEVEDORE-RESULT error &lt;n&gt;</c> followed by <c>n</c> bytes saying
/// what went wrong (the task fails with that error). Any other line on standard output, and everything on standard
/// error, is the task's log.
/// </para>
/// </summary>
public static class HotProtocol
{
    public const string InvokeTag = "STEVEDORE-INVOKE";
    public const string ResultTag = "STEVEDORE-RESULT";

    /// <summary>The protocol version a hot container sees as <c>STEVEDORE_HOT</c>.</summary>
    public const string Version = "1";

    /// <summary>Longest response header line accepted, newline included; a longer one is a malformed frame.</summary>
    public const int MaxHeaderBytes = 128;

    /// <summary>Most error bytes kept in a task's error text (the rest go to its log).</summary>
    public const int MaxErrorChars = 1024;

    internal static readonly byte[] ResultPrefix = Encoding.ASCII.GetBytes(ResultTag + " ");

    /// <summary>The invocation header line for one task.</summary>
    public static byte[] InvokeHeader(string taskId, int attempt, int payloadBytes) =>
        Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{InvokeTag} {taskId} {attempt} {payloadBytes}\n"));

    /// <summary>
    /// Reads a response header line (without its newline): the status and the length that follows, or null with
    /// the reason. Lengths above <paramref name="maxBytes"/> are refused, so a hostile handler cannot make the worker
    /// hold more than that.
    /// </summary>
    public static (bool Ok, int Length)? ParseHeader(ReadOnlySpan<byte> line, int maxBytes, out string? error)
    {
        error = null;
        if (line.EndsWith("\r"u8))
        {
            line = line[..^1];
        }

        if (!line.StartsWith(ResultPrefix))
        {
            error = "the response line does not start with STEVEDORE-RESULT";
            return null;
        }

        var rest = line[ResultPrefix.Length..];
        var space = rest.IndexOf((byte)' ');
        if (space < 0)
        {
            error = "the response line lacks the length (expected 'STEVEDORE-RESULT ok|error <bytes>')";
            return null;
        }

        var status = rest[..space];
        var number = rest[(space + 1)..];
        bool ok;
        if (status.SequenceEqual("ok"u8))
        {
            ok = true;
        }
        else if (status.SequenceEqual("error"u8))
        {
            ok = false;
        }
        else
        {
            error = $"the response status '{Printable(status)}' is neither ok nor error";
            return null;
        }

        if (number.IsEmpty || number.Length > 10 || number.IndexOfAnyExceptInRange((byte)'0', (byte)'9') >= 0
            || !Utf8Parser.TryParse(number, out long length, out var consumed) || consumed != number.Length)
        {
            error = $"the response length '{Printable(number)}' is not a whole number of bytes";
            return null;
        }

        if (length > maxBytes)
        {
            error = $"the response announces {length} bytes, more than the {maxBytes} a result may have";
            return null;
        }

        return (ok, (int)length);
    }

    internal static string Printable(ReadOnlySpan<byte> bytes)
    {
        var text = Encoding.UTF8.GetString(bytes[..Math.Min(bytes.Length, 40)]);
        var clean = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            clean.Append(char.IsControl(c) ? '?' : c);
        }

        return bytes.Length > 40 ? clean + "…" : clean.ToString();
    }
}

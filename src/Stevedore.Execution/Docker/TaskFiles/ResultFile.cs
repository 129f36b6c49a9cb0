using System.Runtime.InteropServices;
using System.Text;
using Stevedore.Storage;

namespace Stevedore.Execution.Docker.TaskFiles;

/// <summary>
/// The rules both task-file modes apply to a result file: only a regular file is read, never more than the limit, and
/// when one is not kept the task's log says why.
/// </summary>
internal static class ResultFile
{
    public static bool TooLarge(long length, int maxBytes, ITaskLogWriter log)
    {
        if (length <= maxBytes)
        {
            return false;
        }

        NotKept(log, $"of {length} bytes not kept: the limit is {maxBytes} bytes");
        return true;
    }

    /// <summary>Writes "[stevedore] result file {why}" into the task's log.</summary>
    public static void NotKept(ITaskLogWriter log, string why) =>
        log.Write(LogStream.System, Encoding.UTF8.GetBytes($"[stevedore] result file {why}\n"));

    public static void NotRegular(ITaskLogWriter log, string kind) =>
        NotKept(log, $"not kept: it is {kind}, not a regular file");

    /// <summary>
    /// Reads a result file a job left in a folder of the host. The job controls what is at <paramref name="path"/>:
    /// a link is not followed, a FIFO or device is not read (and its open does not block), a regular file is read up to
    /// <paramref name="maxBytes"/> and no further.
    /// </summary>
    /// <remarks>Returns a nullable memory, not an array: a null array would convert to an empty, non-null result.</remarks>
    public static ReadOnlyMemory<byte>? ReadFromHost(string path, int maxBytes, ITaskLogWriter log)
    {
        using var handle = Libc.OpenNoFollow(path, out var errno);
        if (handle.IsInvalid)
        {
            switch (errno)
            {
                case Libc.ENOENT:
                    return null;
                case Libc.ELOOP:
                    NotRegular(log, "a symbolic link");
                    return null;
                default:
                    NotKept(log, $"not kept: it cannot be opened ({Marshal.GetPInvokeErrorMessage(errno)})");
                    return null;
            }
        }

        var status = Libc.Status(handle);
        if (status.Type != Libc.SIfReg)
        {
            NotRegular(log, Kind(status.Type));
            return null;
        }

        if (TooLarge(status.Size, maxBytes, log))
        {
            return null;
        }

        // Its size said it fits; read one byte more, to see a file that grew since (its container still writing).
        var buffer = new byte[(int)status.Size + 1];
        var total = 0;
        while (total < buffer.Length)
        {
            var read = Libc.Read(handle, buffer.AsSpan(total));
            if (read == 0)
            {
                break;
            }

            total += read;
        }

        if (total > status.Size)
        {
            NotKept(log, "not kept: it was still being written");
            return null;
        }

        return buffer.AsMemory(0, total);
    }

    public static string Kind(uint type) => type switch
    {
        Libc.SIfDir => "a directory",
        Libc.SIfLnk => "a symbolic link",
        Libc.SIfIfo => "a FIFO (named pipe)",
        Libc.SIfChr => "a character device",
        Libc.SIfBlk => "a block device",
        Libc.SIfSock => "a socket",
        _ => "not a regular file",
    };
}

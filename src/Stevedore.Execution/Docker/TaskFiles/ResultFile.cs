using System.Text;
using Stevedore.Storage;

namespace Stevedore.Execution.Docker.TaskFiles;

/// <summary>The rule both task-file modes apply to a result file: over the limit, it is not kept and the log says so.</summary>
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
}

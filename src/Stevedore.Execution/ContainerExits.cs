using System.Globalization;

namespace Stevedore.Execution;

/// <summary>Who stopped a container before it exited on its own.</summary>
public enum StopCause
{
    /// <summary>Nobody: the container exited by itself (or the engine killed it).</summary>
    None,
    /// <summary>Stevedore, because the attempt reached its timeout.</summary>
    Timeout,
    /// <summary>Stevedore, because the task was cancelled (or its node shuts down).</summary>
    Cancel,
}

/// <summary>What is known about how one attempt's container ended: the facts <see cref="ContainerExits"/> judges.</summary>
public readonly record struct ContainerEnding
{
    /// <summary>The container's exit code; null when it never ran (stopped while it was being pulled or created).</summary>
    public long? ExitCode { get; init; }

    public StopCause StoppedBy { get; init; }

    /// <summary>The engine says the kernel's OOM killer ended it (only asked when <see cref="ContainerExits.MayBeOomKill"/>).</summary>
    public bool OomKilled { get; init; }

    /// <summary>The job filled its task folder (/stevedore): the folder's limit in bytes.</summary>
    public long? TaskFolderFullAt { get; init; }

    /// <summary>The attempt's timeout and the job's memory limit, named in the messages.</summary>
    public TimeSpan Timeout { get; init; }

    public int MemoryMb { get; init; }
}

/// <summary>
/// Turns how a container ended into the attempt's status and the error text a user reads. Pure: the Docker driver
/// gathers the facts, this decides, and a table of cases tests it without Docker.
/// </summary>
public static class ContainerExits
{
    /// <summary>The exit code of a process killed by SIGKILL: a timeout or cancel kill, or the OOM killer.</summary>
    public const long KilledExitCode = 137;

    /// <summary>True when the engine should be asked whether the OOM killer ended the container: only a SIGKILL we did not send can be it.</summary>
    public static bool MayBeOomKill(long exitCode, StopCause stoppedBy) => exitCode == KilledExitCode && stoppedBy == StopCause.None;

    public static ContainerExit Classify(ContainerEnding ending)
    {
        var timeout = ending.Timeout.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture);
        switch (ending.StoppedBy)
        {
            case StopCause.Timeout:
                return new ContainerExit
                {
                    Status = TaskRunStatus.TimedOut,
                    ExitCode = ending.ExitCode,
                    Error = ending.ExitCode is null ? $"timed out after {timeout} s" : $"timed out after {timeout} s; killed",
                };
            case StopCause.Cancel:
                return new ContainerExit
                {
                    Status = TaskRunStatus.Cancelled,
                    ExitCode = ending.ExitCode,
                    Error = ending.ExitCode is null ? "cancelled" : "cancelled; container killed",
                };
        }

        if (ending.ExitCode is not { } exitCode)
        {
            return new ContainerExit { Status = TaskRunStatus.Failed, Error = "the container did not run" };
        }

        if (ending.OomKilled)
        {
            return Failed(exitCode, $"out of memory: the container was killed at its {ending.MemoryMb} MiB memory limit");
        }

        if (exitCode == KilledExitCode)
        {
            return Failed(exitCode,
                $"killed by SIGKILL (exit code 137), not by Stevedore: most likely out of memory at its {ending.MemoryMb} MiB memory limit");
        }

        if (ending.TaskFolderFullAt is { } limit)
        {
            return Failed(exitCode,
                $"the task folder /stevedore is full: a job may keep at most {limit} bytes there (its payload, and twice the result file's limit)");
        }

        return exitCode == 0
            ? new ContainerExit { Status = TaskRunStatus.Succeeded, ExitCode = 0 }
            : Failed(exitCode, $"exited with code {exitCode}");
    }

    private static ContainerExit Failed(long exitCode, string error) =>
        new() { Status = TaskRunStatus.Failed, ExitCode = exitCode, Error = error };
}

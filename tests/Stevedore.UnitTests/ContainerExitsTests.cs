using Stevedore.Execution;

namespace Stevedore.UnitTests;

public class ContainerExitsTests
{
    private static ContainerExit Classify(long? exitCode, StopCause stoppedBy = StopCause.None, bool oom = false) =>
        ContainerExits.Classify(new ContainerEnding
        {
            ExitCode = exitCode, StoppedBy = stoppedBy, OomKilled = oom, Timeout = TimeSpan.FromSeconds(1.5), MemoryMb = 64,
        });

    public static TheoryData<long?, StopCause, bool, TaskRunStatus, string?> Cases => new()
    {
        // exit code, stopped by, OOM flag → status, error (null: none)
        { 0, StopCause.None, false, TaskRunStatus.Succeeded, null },
        { 1, StopCause.None, false, TaskRunStatus.Failed, "exited with code 1" },
        { 255, StopCause.None, false, TaskRunStatus.Failed, "exited with code 255" },
        { 143, StopCause.None, false, TaskRunStatus.Failed, "exited with code 143" },
        { 137, StopCause.None, true, TaskRunStatus.Failed, "out of memory: the container was killed at its 64 MiB memory limit" },
        { 137, StopCause.None, false, TaskRunStatus.Failed, "killed by SIGKILL (exit code 137), not by Stevedore: most likely out of memory at its 64 MiB memory limit" },
        { 137, StopCause.Timeout, false, TaskRunStatus.TimedOut, "timed out after 1.5 s; killed" },
        { 0, StopCause.Timeout, false, TaskRunStatus.TimedOut, "timed out after 1.5 s; killed" },
        { null, StopCause.Timeout, false, TaskRunStatus.TimedOut, "timed out after 1.5 s" },
        { 137, StopCause.Cancel, false, TaskRunStatus.Cancelled, "cancelled; container killed" },
        { 0, StopCause.Cancel, false, TaskRunStatus.Cancelled, "cancelled; container killed" },
        { null, StopCause.Cancel, false, TaskRunStatus.Cancelled, "cancelled" },
        { null, StopCause.None, false, TaskRunStatus.Failed, "the container did not run" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Classify_GivesTheStatusAndErrorAUserReads(long? exitCode, StopCause stoppedBy, bool oom, TaskRunStatus status, string? error)
    {
        var exit = Classify(exitCode, stoppedBy, oom);

        Assert.Equal(status, exit.Status);
        Assert.Equal(error, exit.Error);
        Assert.Equal(exitCode, exit.ExitCode);
        Assert.Null(exit.Result);
    }

    [Theory]
    [InlineData(137, StopCause.None, true)]
    [InlineData(137, StopCause.Timeout, false)]
    [InlineData(137, StopCause.Cancel, false)]
    [InlineData(0, StopCause.None, false)]
    [InlineData(1, StopCause.None, false)]
    [InlineData(139, StopCause.None, false)]
    public void MayBeOomKill_OnlyForASigkillStevedoreDidNotSend(long exitCode, StopCause stoppedBy, bool expected) =>
        Assert.Equal(expected, ContainerExits.MayBeOomKill(exitCode, stoppedBy));

    [Fact]
    public void Classify_TimeoutIsWrittenWithoutTrailingZeros() =>
        Assert.Equal("timed out after 3600 s", ContainerExits.Classify(new ContainerEnding { StoppedBy = StopCause.Timeout, Timeout = TimeSpan.FromHours(1) }).Error);
}

using System.Collections.Concurrent;
using Stevedore.Storage;

namespace Stevedore.Execution.Fake;

/// <summary>
/// An in-process driver for tests of the logic around containers, and for control-plane benchmarks. Behaviour is
/// chosen by image name: <c>fake/fail</c> exits 1; <c>fake/hold</c> runs until <see cref="Release"/>, the timeout
/// (on the injected clock, so a fake clock drives it) or cancellation; anything else echoes its payload to stdout,
/// returns it as result and exits 0.
/// </summary>
public sealed class FakeContainerDriver(TimeProvider time) : IContainerDriver
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource<long>> _holds = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _runningPerJob = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _maxPerJob = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string TaskId, int Attempt), TaskCompletionSource> _started = new();
    private long _runs;

    /// <summary>Number of attempts started so far.</summary>
    public long Runs => Interlocked.Read(ref _runs);

    /// <summary>Raised when an attempt starts (after the run slot was taken, and a held run's timeout is armed).</summary>
    public event Action<ContainerRunRequest>? Started;

    public int MaxConcurrencySeen(string job) => _maxPerJob.GetValueOrDefault(job);

    public int RunningNow(string job) => _runningPerJob.GetValueOrDefault(job);

    /// <summary>
    /// Completes when the task's attempt <paramref name="attempt"/> has started in this driver; for a <c>fake/hold</c>
    /// run its timeout is armed by then, so moving a fake clock afterwards reaches it.
    /// </summary>
    public Task WhenStarted(string taskId, int attempt = 1) => StartSignal(taskId, attempt).Task;

    /// <summary>Lets a <c>fake/hold</c> task exit with <paramref name="exitCode"/>.</summary>
    public void Release(string taskId, long exitCode = 0) =>
        _holds.GetOrAdd(taskId, _ => new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult(exitCode);

    public Task<string?> CheckHealthAsync(CancellationToken cancellationToken) => Task.FromResult<string?>(null);

    public Task<int> RemoveLabelledAsync(string label, string value, CancellationToken cancellationToken) => Task.FromResult(0);

    public Task<int> RemoveLeftoversAsync(string node, IReadOnlySet<string> keepTasks, CancellationToken cancellationToken) => Task.FromResult(0);

    /// <summary>
    /// When set, an attempt's exit carries a removal that calls it, as a real container's removal would run: once the
    /// worker has recorded the outcome.
    /// </summary>
    public Func<ContainerRunRequest, Task>? Removing { get; set; }

    public async Task<ContainerExit> RunAsync(ContainerRunRequest request, ITaskLogWriter log, CancellationToken cancellationToken)
    {
        var exit = await RunInAsync(request, log, cancellationToken);
        return Removing is { } removing ? exit with { Removal = () => removing(request) } : exit;
    }

    private async Task<ContainerExit> RunInAsync(ContainerRunRequest request, ITaskLogWriter log, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _runs);
        var running = _runningPerJob.AddOrUpdate(request.Job, 1, (_, n) => n + 1);
        _maxPerJob.AddOrUpdate(request.Job, running, (_, n) => Math.Max(n, running));
        try
        {
            if (request.Spec.Image.StartsWith("fake/hold", StringComparison.Ordinal))
            {
                var hold = _holds.GetOrAdd(request.TaskId, _ => new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously));
                var exited = hold.Task.WaitAsync(request.Timeout, time, cancellationToken);
                SignalStarted(request);
                try
                {
                    var exitCode = await exited;
                    _holds.TryRemove(request.TaskId, out _);
                    return exitCode == 0
                        ? new ContainerExit { Status = TaskRunStatus.Succeeded, ExitCode = 0 }
                        : new ContainerExit { Status = TaskRunStatus.Failed, ExitCode = exitCode, Error = $"exited with code {exitCode}" };
                }
                catch (TimeoutException)
                {
                    return new ContainerExit { Status = TaskRunStatus.TimedOut, Error = "timed out" };
                }
                catch (OperationCanceledException)
                {
                    return new ContainerExit { Status = TaskRunStatus.Cancelled, Error = "cancelled; container killed" };
                }
            }

            SignalStarted(request);
            if (request.Spec.Image.StartsWith("fake/fail", StringComparison.Ordinal))
            {
                log.Write(LogStream.Stderr, "failing on purpose\n"u8);
                return new ContainerExit { Status = TaskRunStatus.Failed, ExitCode = 1, Error = "exited with code 1" };
            }

            log.Write(LogStream.Stdout, request.Payload.Span);
            return new ContainerExit { Status = TaskRunStatus.Succeeded, ExitCode = 0, Result = request.Payload.IsEmpty ? ContainerExit.NoResult : request.Payload };
        }
        finally
        {
            _runningPerJob.AddOrUpdate(request.Job, 0, (_, n) => n - 1);
        }
    }

    private void SignalStarted(ContainerRunRequest request)
    {
        Started?.Invoke(request);
        StartSignal(request.TaskId, request.Attempt).TrySetResult();
    }

    private TaskCompletionSource StartSignal(string taskId, int attempt) =>
        _started.GetOrAdd((taskId, attempt), _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
}

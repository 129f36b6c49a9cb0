using Microsoft.Extensions.Logging;
using Stevedore.Execution.Hot;
using Stevedore.Storage;
using Stevedore.Telemetry;

namespace Stevedore.Execution.Worker;

/// <summary>
/// One attempt of a task its partition started on this node: runs its container through the driver (or, for a hot
/// job, hands it to the <see cref="HotRunner"/>), and saves what it left (log, result, outcome), trying again while
/// the cluster or its storage is away.
/// </summary>
internal sealed partial class AttemptRunner(
    IGrainFactory grains,
    IContainerDriver driver,
    HotRunner? hot,
    ITaskContentStore content,
    TimeProvider time,
    WorkerOptions options,
    TimeSpan leaseDuration,
    string node,
    Func<bool> shuttingDown,
    Action engineLost,
    ILogger logger)
{
    private static readonly TimeSpan s_pingTimeout = TimeSpan.FromSeconds(3);

    private string ShutDownError => $"worker lost: node {node} shut down";

    public async Task RunAsync(RunAssignment assignment, RunningAttempt run)
    {
        var partition = grains.Partition(assignment.Partition);
        using var span = StevedoreTracing.StartRun(assignment, node);
        // Read while the store is away too: the attempt has begun, and one given up here would only lapse and run again.
        // A task without a payload has none stored: one read less per attempt.
        var payload = assignment.PayloadBytes == 0 ? ReadOnlyMemory<byte>.Empty
            : await RetryAsync(() => content.GetPayloadAsync(assignment.TaskId), assignment.TaskId) ?? ReadOnlyMemory<byte>.Empty;
        var log = new TaskLogWriter(content, assignment.TaskId, assignment.Attempt, options.LogCapBytes);
        if (assignment.Attempt > 1)
        {
            log.WriteSystemLine($"attempt {assignment.Attempt} on {node}");
        }

        var request = new ContainerRunRequest
        {
            TaskId = assignment.TaskId,
            Job = assignment.Job.Name,
            JobVersion = assignment.Job.Version,
            Attempt = assignment.Attempt,
            Spec = assignment.Job.Spec,
            Timeout = TimeSpan.FromSeconds(assignment.TimeoutSeconds),
            Node = node,
            Payload = payload,
            TraceParent = StevedoreTracing.ForContainer(span, assignment.TraceParent),
            TaskEnvironment = assignment.Environment,
        };

        run.Log = log;
        ContainerExit exit;
        var lostEngine = false;
        try
        {
            // A hot job's task goes to a hot container of this node; every other task gets a container of its own.
            exit = hot is not null && request.Spec.Hot is not null
                ? await hot.RunAsync(request, log, run.Cancel.Token)
                : await driver.RunAsync(request, log, run.Cancel.Token);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            lostEngine = DriverFailures.Judge(ex, await EngineAnswersAsync()) == DriverFailure.EngineLost;
            if (lostEngine)
            {
                LogEngineLost(logger, ex, assignment.TaskId, node);
                engineLost();
                log.WriteSystemLine($"the container engine of node {node} went away; the task runs again once an engine answers");
            }
            else
            {
                LogDriverFailed(logger, ex, assignment.TaskId);
            }

            exit = lostEngine
                ? new ContainerExit { Status = TaskRunStatus.Failed, Error = $"worker lost: the container engine of node {node} went away ({ex.Message})" }
                : new ContainerExit { Status = TaskRunStatus.Failed, Error = $"worker error: {ex.Message}" };
        }
        finally
        {
            run.LeftDriver = true;
        }

        run.Log = null;
        try
        {
            await RetryAsync(() => log.FlushAsync(), assignment.TaskId);
            if (exit.Result is { } result)
            {
                await RetryAsync(() => content.PutResultAsync(assignment.TaskId, result), assignment.TaskId);
            }

            var shutDown = shuttingDown() && exit.Status == TaskRunStatus.Cancelled;
            var outcome = new RunOutcome
            {
                Status = exit.Status,
                ExitCode = exit.ExitCode,
                Error = shutDown ? ShutDownError : exit.Error,
                WorkerLost = shutDown || lostEngine,
                EngineLost = lostEngine,
            };
            await RetryAsync(() => partition.CompleteAsync(assignment.TaskId, assignment.Attempt, outcome), assignment.TaskId);
            StevedoreTracing.Outcome(span, exit.Status, exit.Error);
        }
        finally
        {
            // The container goes once the outcome is recorded (or given up on): the engine's removal is off the path to
            // the end a client waits for. The slot stays taken until it is gone.
            if (exit.Removal is { } removal)
            {
                await RemoveAsync(removal, assignment.TaskId);
            }
        }
    }

    private async Task RemoveAsync(Func<Task> removal, string taskId)
    {
        try
        {
            await removal();
        }
        catch (Exception ex)
        {
            LogRemovalFailed(logger, ex, taskId);
        }
    }

    /// <summary>A task started here as the node began to stop: it runs again at once elsewhere (not counted as lost).</summary>
    public Task GiveBackAsync(RunAssignment assignment) =>
        RetryAsync(() => grains.Partition(assignment.Partition).CompleteAsync(assignment.TaskId, assignment.Attempt, new RunOutcome
        {
            Status = TaskRunStatus.Failed,
            Error = ShutDownError,
            WorkerLost = true,
        }), assignment.TaskId);

    private async Task<bool> EngineAnswersAsync()
    {
        using var timeout = new CancellationTokenSource(s_pingTimeout);
        return await driver.CheckHealthAsync(timeout.Token) is null;
    }

    /// <summary>
    /// Reads what an attempt needs, or saves what it left (log, result, outcome), trying again while the cluster or
    /// its storage is unreachable, for as long as a lease lasts twenty times over: past that the lease has lapsed and
    /// the task has been given to another attempt. A cancellation that is not the node stopping is tried again too.
    /// </summary>
    private async Task RetryAsync(Func<Task> save, string taskId) =>
        await RetryAsync(async () =>
        {
            await save();
            return true;
        }, taskId);

    private async Task<T> RetryAsync<T>(Func<Task<T>> call, string taskId)
    {
        var deadline = time.GetUtcNow() + (leaseDuration * 20);
        for (var i = 0; ; i++)
        {
            try
            {
                return await call();
            }
            catch (Exception ex) when ((ex is not OperationCanceledException || !shuttingDown()) && time.GetUtcNow() < deadline)
            {
                LogStoreRetry(logger, ex, taskId, i + 1);
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(5000, 200 << Math.Min(i, 5))));
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Removing what task {TaskId} left on the engine failed; the node's sweep of leftovers removes it.")]
    private static partial void LogRemovalFailed(ILogger logger, Exception ex, string taskId);

    [LoggerMessage(Level = LogLevel.Error, Message = "The container driver failed on task {TaskId}.")]
    private static partial void LogDriverFailed(ILogger logger, Exception ex, string taskId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Task {TaskId} lost the container engine of node {Node}: it runs again once an engine answers.")]
    private static partial void LogEngineLost(ILogger logger, Exception ex, string taskId, string node);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reading the payload, or saving the log, result or outcome, of task {TaskId} failed (try {Try}); trying again.")]
    private static partial void LogStoreRetry(ILogger logger, Exception ex, string taskId, int @try);
}

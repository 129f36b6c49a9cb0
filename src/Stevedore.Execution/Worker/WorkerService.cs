using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Stevedore.Options;
using Stevedore.Storage;
using Stevedore.Telemetry;

namespace Stevedore.Execution.Worker;

/// <summary>
/// The worker node of this silo: a hosted service (never a grain) that leases tasks from the queue partitions when
/// it has free slots, runs each through the container driver, streams its log to the content store and reports the
/// outcome to the task grain. Partitions push "work available" to it, so an idle node dispatches without polling.
/// </summary>
public sealed partial class WorkerService : BackgroundService, IWorkerObserver
{
    private readonly IGrainFactory _grains;
    private readonly IContainerDriver _driver;
    private readonly ITaskContentStore _content;
    private readonly ITaskStore _tasks;
    private readonly TimeProvider _time;
    private readonly TimeSpan _leaseDuration;
    private readonly WorkerOptions _options;
    private readonly int _partitions;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly ILogger<WorkerService> _logger;
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly ConcurrentDictionary<string, RunningTask> _running = new(StringComparer.Ordinal);
    private readonly int[] _pending;
    private int _free;
    private int _nextPartition;
    private volatile bool _shuttingDown;
    private IWorkerObserver? _self;

    public WorkerService(
        IGrainFactory grains,
        IContainerDriver driver,
        ITaskContentStore content,
        ITaskStore tasks,
        TimeProvider time,
        IOptions<WorkerOptions> options,
        IOptions<QueueOptions> queue,
        IHostApplicationLifetime lifetime,
        ILogger<WorkerService> logger)
    {
        _grains = grains;
        _driver = driver;
        _content = content;
        _tasks = tasks;
        _time = time;
        _leaseDuration = queue.Value.LeaseDuration;
        _options = options.Value;
        _partitions = queue.Value.Partitions;
        _lifetime = lifetime;
        _logger = logger;
        _pending = new int[_partitions];
        _free = _options.Slots;
        Node = _options.Node ?? Environment.MachineName;
    }

    public string Node { get; }

    public Task WorkAvailable(int partition)
    {
        if ((uint)partition < (uint)_pending.Length)
        {
            Volatile.Write(ref _pending[partition], 1);
            _wake.Writer.TryWrite(true);
        }

        return Task.CompletedTask;
    }

    public Task CancelTask(string taskId)
    {
        if (_running.TryGetValue(taskId, out var run))
        {
            run.Cancel.Cancel();
        }

        return Task.CompletedTask;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_options.Slots <= 0)
        {
            LogNoSlots(_logger, Node);
            return;
        }

        await WhenStartedAsync(stoppingToken);
        await RemoveOrphansAsync(stoppingToken);
        _self = _grains.CreateObjectReference<IWorkerObserver>(this);
        await RegisterAsync(stoppingToken);
        for (var p = 0; p < _partitions; p++)
        {
            _pending[p] = 1;
        }

        using var slots = StevedoreMetrics.ObserveSlots(Node, () => _options.Slots - Volatile.Read(ref _free), _options.Slots);
        _ = HeartbeatLoopAsync(stoppingToken);
        _ = LeaseLoopAsync(stoppingToken);
        _ = FlushLoopAsync(stoppingToken);
        _wake.Writer.TryWrite(true);
        try
        {
            while (await _wake.Reader.WaitToReadAsync(stoppingToken))
            {
                _wake.Reader.TryRead(out _);
                await DispatchAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        _shuttingDown = true;
        foreach (var run in _running.Values)
        {
            run.Cancel.Cancel();
        }

        await base.StopAsync(cancellationToken);
        // Let the killed attempts report back (they go back to the queue as lost, not as failures).
        await Task.WhenAll(_running.Values.Select(r => r.Completion)).WaitAsync(cancellationToken).ContinueWith(_ => { }, TaskScheduler.Default);
        if (_self is not null)
        {
            _grains.DeleteObjectReference<IWorkerObserver>(_self);
        }
    }

    private async Task WhenStartedAsync(CancellationToken stoppingToken)
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var onStarted = _lifetime.ApplicationStarted.Register(() => started.TrySetResult());
        await started.Task.WaitAsync(stoppingToken);
    }

    private async Task RegisterAsync(CancellationToken cancellationToken)
    {
        await _grains.GetGrain<IWorkerNodeGrain>(Node).RegisterAsync(_options.Slots, _self!);
        await Task.WhenAll(Enumerable.Range(0, _partitions).Select(p => _grains.Partition(p).SubscribeAsync(Node, _self!)));
    }

    private async Task DispatchAsync(CancellationToken stoppingToken)
    {
        var leasedAny = true;
        while (leasedAny && Volatile.Read(ref _free) > 0 && !stoppingToken.IsCancellationRequested)
        {
            leasedAny = false;
            for (var i = 0; i < _partitions && Volatile.Read(ref _free) > 0; i++)
            {
                var p = (_nextPartition + i) % _partitions;
                if (Interlocked.Exchange(ref _pending[p], 0) == 0)
                {
                    continue;
                }

                LeaseBatch batch;
                try
                {
                    batch = await _grains.Partition(p).LeaseAsync(Node, Volatile.Read(ref _free));
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogLeaseFailed(_logger, ex, p);
                    Volatile.Write(ref _pending[p], 1);
                    _ = WakeLaterAsync(TimeSpan.FromSeconds(1), stoppingToken);
                    continue;
                }

                if (batch.MoreReady)
                {
                    Volatile.Write(ref _pending[p], 1);
                }

                foreach (var task in batch.Tasks)
                {
                    Interlocked.Decrement(ref _free);
                    StartRun(task);
                    leasedAny = true;
                }
            }

            _nextPartition = (_nextPartition + 1) % _partitions;
        }
    }

    private void StartRun(LeasedTask leased)
    {
        var run = new RunningTask(leased.TaskId);
        _running[leased.TaskId] = run;
        run.Completion = Task.Run(async () =>
        {
            try
            {
                await RunAsync(leased, run);
            }
            catch (Exception ex)
            {
                LogRunFailed(_logger, ex, leased.TaskId);
            }
            finally
            {
                _running.TryRemove(leased.TaskId, out _);
                run.Cancel.Dispose();
                Interlocked.Increment(ref _free);
                _wake.Writer.TryWrite(true);
            }
        });
    }

    private async Task RunAsync(LeasedTask leased, RunningTask run)
    {
        var grain = _grains.GetGrain<ITaskGrain>(leased.TaskId);
        var assignment = await grain.StartAsync(Node, leased.Job);
        if (assignment is null)
        {
            return;
        }

        using var span = StevedoreTracing.StartRun(assignment, Node);

        var payload = await _content.GetPayloadAsync(leased.TaskId) ?? ReadOnlyMemory<byte>.Empty;
        var log = new TaskLogWriter(_content, leased.TaskId, assignment.Attempt, _options.LogCapBytes);
        if (assignment.Attempt > 1)
        {
            log.WriteSystemLine($"attempt {assignment.Attempt} on {Node}");
        }

        var request = new ContainerRunRequest
        {
            TaskId = leased.TaskId,
            Job = assignment.Job.Name,
            JobVersion = assignment.Job.Version,
            Attempt = assignment.Attempt,
            Spec = assignment.Job.Spec,
            Timeout = TimeSpan.FromSeconds(assignment.TimeoutSeconds),
            Node = Node,
            Payload = payload,
            TraceParent = StevedoreTracing.ForContainer(span, assignment.TraceParent),
            TaskEnvironment = assignment.Environment,
        };

        run.Log = log;
        ContainerExit exit;
        try
        {
            exit = await _driver.RunAsync(request, log, run.Cancel.Token);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogDriverFailed(_logger, ex, leased.TaskId);
            exit = new ContainerExit { Status = TaskRunStatus.Failed, Error = $"worker error: {ex.Message}" };
        }

        run.Log = null;
        await RetryAsync(() => log.FlushAsync(), leased.TaskId);
        if (exit.Result is { } result)
        {
            await RetryAsync(() => _content.PutResultAsync(leased.TaskId, result), leased.TaskId);
        }

        var lost = _shuttingDown && exit.Status == TaskRunStatus.Cancelled;
        var outcome = new RunOutcome
        {
            Status = exit.Status,
            ExitCode = exit.ExitCode,
            Error = lost ? $"worker lost: node {Node} shut down" : exit.Error,
            WorkerLost = lost,
        };
        await RetryAsync(() => grain.CompleteAsync(assignment.Attempt, outcome), leased.TaskId);
        StevedoreTracing.Outcome(span, exit.Status, exit.Error);
    }

    /// <summary>
    /// Saves what an attempt left (log, result, outcome), trying again while the cluster or its storage is
    /// unreachable, for as long as a lease lasts twenty times over: past that the lease has lapsed and the task has
    /// been given to another attempt.
    /// </summary>
    private async Task RetryAsync(Func<Task> save, string taskId)
    {
        var deadline = _time.GetUtcNow() + (_leaseDuration * 20);
        for (var i = 0; ; i++)
        {
            try
            {
                await save();
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException && _time.GetUtcNow() < deadline)
            {
                LogReportRetry(_logger, ex, taskId, i + 1);
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(5000, 200 << Math.Min(i, 5))));
            }
        }
    }

    /// <summary>One loop for the whole node moves buffered output of running tasks to the log store.</summary>
    private async Task FlushLoopAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_options.LogFlushInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                foreach (var run in _running.Values)
                {
                    if (run.Log is { } log)
                    {
                        try
                        {
                            await log.FlushAsync(stoppingToken);
                        }
                        catch (Exception ex) when (ex is not OperationCanceledException)
                        {
                            // The final flush of the attempt tries again; the store may be away for a moment.
                            LogFlushFailed(_logger, ex, run.TaskId);
                        }
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task HeartbeatLoopAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_options.HeartbeatInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await _grains.GetGrain<IWorkerNodeGrain>(Node).HeartbeatAsync(_running.Keys.ToList());
                    await RegisterAsync(stoppingToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogHeartbeatFailed(_logger, ex, Node);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>
    /// Every third of the lease: renews the leases of the tasks this node runs, and ends the attempts whose lease
    /// lapsed elsewhere (their node died): kills their containers where this engine holds them, then tells their
    /// task grains, which queue them again. Every node does this, so it goes on while any node lives.
    /// </summary>
    private async Task LeaseLoopAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_leaseDuration / 3, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    var now = _time.GetUtcNow();
                    await _tasks.RenewLeasesAsync(_running.Keys.ToList(), now + _leaseDuration, stoppingToken);
                    foreach (var lapsed in await _tasks.FindLapsedLeasesAsync(now, 100, stoppingToken))
                    {
                        if (_running.ContainsKey(lapsed.Id))
                        {
                            continue; // Ours and alive: renewed just now, the store's clock read is older.
                        }

                        await _driver.RemoveLabelledAsync(ContainerRunRequest.TaskLabel, lapsed.Id, stoppingToken);
                        await _grains.GetGrain<ITaskGrain>(lapsed.Id).ExpireLeaseAsync(lapsed.Attempt);
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogLeaseLoopFailed(_logger, ex, Node);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Containers this node left behind when its process died: their tasks run again elsewhere.</summary>
    private async Task RemoveOrphansAsync(CancellationToken stoppingToken)
    {
        try
        {
            var removed = await _driver.RemoveLabelledAsync(ContainerRunRequest.NodeLabel, Node, stoppingToken);
            if (removed > 0)
            {
                LogOrphansRemoved(_logger, removed, Node);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogOrphanCleanupFailed(_logger, ex, Node);
        }
    }

    private async Task WakeLaterAsync(TimeSpan delay, CancellationToken stoppingToken)
    {
        try
        {
            await Task.Delay(delay, stoppingToken);
            _wake.Writer.TryWrite(true);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private sealed class RunningTask(string taskId)
    {
        public string TaskId { get; } = taskId;
        public CancellationTokenSource Cancel { get; } = new();
        public Task Completion { get; set; } = Task.CompletedTask;
        public TaskLogWriter? Log { get; set; }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Worker node {Node} has no slots (Stevedore:Worker:Slots = 0): it runs no tasks.")]
    private static partial void LogNoSlots(ILogger logger, string node);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Leasing from queue partition {Partition} failed; trying again shortly.")]
    private static partial void LogLeaseFailed(ILogger logger, Exception ex, int partition);

    [LoggerMessage(Level = LogLevel.Error, Message = "Running task {TaskId} failed in the worker.")]
    private static partial void LogRunFailed(ILogger logger, Exception ex, string taskId);

    [LoggerMessage(Level = LogLevel.Error, Message = "The container driver failed on task {TaskId}.")]
    private static partial void LogDriverFailed(ILogger logger, Exception ex, string taskId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Saving the log, result or outcome of task {TaskId} failed (try {Try}); trying again.")]
    private static partial void LogReportRetry(ILogger logger, Exception ex, string taskId, int @try);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Renewing or reaping leases on node {Node} failed; trying again next round.")]
    private static partial void LogLeaseLoopFailed(ILogger logger, Exception ex, string node);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Removed {Count} containers node {Node} left behind when it stopped.")]
    private static partial void LogOrphansRemoved(ILogger logger, int count, string node);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Looking for containers node {Node} left behind failed.")]
    private static partial void LogOrphanCleanupFailed(ILogger logger, Exception ex, string node);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Writing the log of task {TaskId} failed; trying again.")]
    private static partial void LogFlushFailed(ILogger logger, Exception ex, string taskId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Heartbeat of worker node {Node} failed.")]
    private static partial void LogHeartbeatFailed(ILogger logger, Exception ex, string node);
}

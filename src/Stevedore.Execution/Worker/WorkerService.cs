using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Stevedore.Execution.Hot;
using Stevedore.Options;
using Stevedore.Storage;
using Stevedore.Telemetry;

namespace Stevedore.Execution.Worker;

/// <summary>
/// The worker node of this silo: a hosted service (never a grain) that registers the node, and composes its parts —
/// the <see cref="Dispatcher"/> leasing tasks for free slots, the <see cref="AttemptRunner"/> running each one, and
/// the <see cref="LeaseKeeper"/> renewing and reaping leases, the <see cref="EngineWatch"/> stopping it while the
/// container engine is away — with a heartbeat and a log flush loop. On stop it
/// stops leasing, cuts its attempts short (they report as <c>worker lost</c>), waits for them to report, then stops
/// and awaits every loop.
/// </summary>
public sealed partial class WorkerService : BackgroundService, IWorkerObserver
{
    private readonly IGrainFactory _grains;
    private readonly IContainerDriver _driver;
    private readonly WorkerOptions _options;
    private readonly int _partitions;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly ILogger<WorkerService> _logger;
    private readonly RunningAttempts _running = new();
    private readonly Dispatcher _dispatcher;
    private readonly AttemptRunner _runner;
    private readonly LeaseKeeper _leases;
    private readonly EngineWatch _engine;
    private readonly HotRunner? _hot;
    // Stops the dispatcher before attempts are cut short, and the other loops only once they have reported.
    private readonly CancellationTokenSource _stopDispatch = new();
    private readonly CancellationTokenSource _stopLoops = new();
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
        ILoggerFactory loggers,
        IHotContainerDriver? hotDriver = null)
    {
        _grains = grains;
        _driver = driver;
        _options = options.Value;
        _partitions = queue.Value.Partitions;
        _lifetime = lifetime;
        _logger = loggers.CreateLogger<WorkerService>();
        Node = _options.Node ?? Environment.MachineName;
        var leaseDuration = queue.Value.LeaseDuration;
        _dispatcher = new Dispatcher(grains, Node, _partitions, _options.Slots, StartRun, loggers.CreateLogger<Dispatcher>());
        _engine = new EngineWatch(driver, _running, _dispatcher, _options.EngineCheckInterval, Node, loggers.CreateLogger<EngineWatch>());
        _hot = hotDriver is null ? null : new HotRunner(hotDriver, time, _options.Slots, Node, loggers.CreateLogger<HotRunner>());
        _runner = new AttemptRunner(grains, driver, _hot, content, time, _options, leaseDuration, Node, () => _shuttingDown, _engine.EngineLost, loggers.CreateLogger<AttemptRunner>());
        _leases = new LeaseKeeper(tasks, grains, driver, _running, time, leaseDuration, Node, loggers.CreateLogger<LeaseKeeper>());
    }

    public string Node { get; }

    public Task WorkAvailable(int partition, int priority)
    {
        _dispatcher.WorkAvailable(partition, priority);
        return Task.CompletedTask;
    }

    /// <summary>The hot containers of this node (null when no hot driver is registered).</summary>
    public HotRunner? Hot => _hot;

    public Task JobChanged(string job, long? version)
    {
        _hot?.RetireJob(job, version);
        _driver.JobChanged(job, version);
        return Task.CompletedTask;
    }

    public Task CancelTask(string taskId)
    {
        if (_running.TryGet(taskId, out var run))
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
        if (!await RegisterUntilDoneAsync(stoppingToken))
        {
            return;
        }

        _dispatcher.AllPending();
        using var slots = StevedoreMetrics.ObserveSlots(Node, () => _options.Slots - _dispatcher.FreeSlots, _options.Slots);

        using var dispatch = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, _stopDispatch.Token);
        using var loops = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, _stopLoops.Token);
        await Task.WhenAll(
            _dispatcher.RunAsync(dispatch.Token),
            _leases.RunAsync(loops.Token),
            _engine.RunAsync(loops.Token),
            HeartbeatLoopAsync(loops.Token),
            FlushLoopAsync(loops.Token),
            _hot?.RunSweepAsync(loops.Token) ?? Task.CompletedTask);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        _shuttingDown = true;
        await _stopDispatch.CancelAsync();
        _running.CancelAll();
        // Let the killed attempts report back (they go back to the queue as lost, not as failures) while the lease
        // keeper still renews their leases.
        await _running.WhenAllEnded().WaitAsync(cancellationToken).ContinueWith(_ => { }, TaskScheduler.Default);
        if (_hot is not null)
        {
            await _hot.StopAllAsync().WaitAsync(cancellationToken).ContinueWith(_ => { }, TaskScheduler.Default);
        }

        await _stopLoops.CancelAsync();
        await base.StopAsync(cancellationToken);
        if (_self is not null)
        {
            _grains.DeleteObjectReference<IWorkerObserver>(_self);
        }
    }

    public override void Dispose()
    {
        base.Dispose();
        _stopDispatch.Dispose();
        _stopLoops.Dispose();
    }

    private void StartRun(RunAssignment assignment)
    {
        // Started while stopping: handed back at once, to run again elsewhere. Either way it is one of this node's
        // runs until its partition has the outcome, so a stop waits for it and its lease is renewed meanwhile.
        var giveBack = _shuttingDown;
        var run = _running.Add(assignment.TaskId);
        run.Completion = Task.Run(async () =>
        {
            try
            {
                await (giveBack ? _runner.GiveBackAsync(assignment) : _runner.RunAsync(assignment, run));
            }
            catch (Exception ex)
            {
                LogRunFailed(_logger, ex, assignment.TaskId);
            }
            finally
            {
                _running.Remove(assignment.TaskId);
                run.Cancel.Dispose();
                _dispatcher.SlotFreed();
            }
        });
    }

    private async Task WhenStartedAsync(CancellationToken stoppingToken)
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var onStarted = _lifetime.ApplicationStarted.Register(() => started.TrySetResult());
        await started.Task.WaitAsync(stoppingToken);
    }

    /// <summary>
    /// Registers the node, trying again while the cluster or its storage does not answer (a database restart, a
    /// failover): a passing outage must not stop the silo. False when the host stops first.
    /// </summary>
    private async Task<bool> RegisterUntilDoneAsync(CancellationToken stoppingToken)
    {
        for (var i = 0; ; i++)
        {
            try
            {
                await RegisterAsync();
                return true;
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                LogRegisterRetry(_logger, ex, Node, i + 1);
            }

            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(5000, 250 << Math.Min(i, 5))), stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return false;
            }
        }
    }

    private async Task RegisterAsync()
    {
        await _grains.GetGrain<IWorkerNodeGrain>(Node).RegisterAsync(_options.Slots, _self!);
        await Task.WhenAll(Enumerable.Range(0, _partitions).Select(p => _grains.Partition(p).SubscribeAsync(Node, _self!)));
    }

    /// <summary>One loop for the whole node moves buffered output of running tasks to the log store.</summary>
    private async Task FlushLoopAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_options.LogFlushInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                foreach (var run in _running.All)
                {
                    if (run.Log is { } log)
                    {
                        try
                        {
                            await log.FlushAsync(stoppingToken);
                        }
                        catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
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
                    await _grains.GetGrain<IWorkerNodeGrain>(Node).HeartbeatAsync(_running.TaskIds);
                    await RegisterAsync();
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    // Whatever one beat threw (a stray cancellation included), the next one comes.
                    LogHeartbeatFailed(_logger, ex, Node);
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Worker node {Node} has no slots (Stevedore:Worker:Slots = 0): it runs no tasks.")]
    private static partial void LogNoSlots(ILogger logger, string node);

    [LoggerMessage(Level = LogLevel.Error, Message = "Running task {TaskId} failed in the worker.")]
    private static partial void LogRunFailed(ILogger logger, Exception ex, string taskId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Removed {Count} containers node {Node} left behind when it stopped.")]
    private static partial void LogOrphansRemoved(ILogger logger, int count, string node);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Looking for containers node {Node} left behind failed.")]
    private static partial void LogOrphanCleanupFailed(ILogger logger, Exception ex, string node);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Writing the log of task {TaskId} failed; trying again.")]
    private static partial void LogFlushFailed(ILogger logger, Exception ex, string taskId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Registering worker node {Node} failed (try {Try}); trying again shortly.")]
    private static partial void LogRegisterRetry(ILogger logger, Exception ex, string node, int @try);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Heartbeat of worker node {Node} failed.")]
    private static partial void LogHeartbeatFailed(ILogger logger, Exception ex, string node);
}

using Microsoft.Extensions.Logging;

namespace Stevedore.Execution.Hot;

/// <summary>
/// Runs the attempts of hot jobs on this node: the worker hands it every task whose job has <c>hot</c> set. It asks
/// <see cref="HotPool"/> which container serves the task, starts containers through <see cref="IHotContainerDriver"/>,
/// speaks the protocol through each container's <see cref="HotSession"/>, and stops what the pool retires: containers
/// idle past their job's <c>idleSeconds</c> (checked every second), those of a changed, paused or deleted job
/// (<see cref="RetireJob"/>), and any whose task did not end with a clean response.
/// </summary>
public sealed partial class HotRunner(IHotContainerDriver driver, TimeProvider time, int slots, string node, ILogger<HotRunner> logger)
{
    private static readonly TimeSpan s_sweepInterval = TimeSpan.FromSeconds(1);

    private readonly Lock _lock = new();
    private readonly HotPool _pool = new(Math.Max(1, slots));
    private readonly Dictionary<long, HotSession> _sessions = [];
    private readonly Dictionary<string, TaskCompletionSource> _released = new(StringComparer.Ordinal);
    private readonly List<Task> _stopping = [];

    /// <summary>Hot containers on this node now, serving or idle.</summary>
    public int Containers
    {
        get
        {
            lock (_lock)
            {
                return _pool.Count;
            }
        }
    }

    public async Task<ContainerExit> RunAsync(ContainerRunRequest request, ITaskLogWriter log, CancellationToken cancellationToken)
    {
        var hot = request.Spec.Hot ?? new HotSpec();
        while (true)
        {
            HotAcquire decision;
            Task? released = null;
            HotSession? session = null;
            lock (_lock)
            {
                decision = _pool.Acquire(request.Job, request.JobVersion, hot, time.GetUtcNow());
                switch (decision.Kind)
                {
                    case HotAcquireKind.Wait:
                        released = ReleasedSignal(request.Job);
                        break;
                    case HotAcquireKind.Use:
                        session = _sessions[decision.Container];
                        break;
                }
            }

            Stop(decision.Retire);
            if (released is not null)
            {
                try
                {
                    await released.WaitAsync(cancellationToken);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    return ContainerExits.Classify(new ContainerEnding { StoppedBy = StopCause.Cancel, Timeout = request.Timeout });
                }

                continue;
            }

            if (session is null)
            {
                try
                {
                    session = await StartAsync(decision.Container, request, cancellationToken);
                }
                catch (HotStartException ex)
                {
                    lock (_lock)
                    {
                        _pool.Forget(decision.Container);
                    }

                    WakeWaiters(request.Job);
                    return new ContainerExit { Status = TaskRunStatus.Failed, Error = ex.Message };
                }
            }

            if (!session.Alive)
            {
                // It stopped while idle (its handler exited, the engine killed it): replace it, the task is not its.
                lock (_lock)
                {
                    _pool.Release(decision.Container, reusable: false, time.GetUtcNow());
                }

                await StopAsync(decision.Container);
                continue;
            }

            var outcome = await session.InvokeAsync(request, log, cancellationToken);
            bool stop;
            lock (_lock)
            {
                stop = _pool.Release(decision.Container, outcome.Reusable, time.GetUtcNow());
            }

            if (stop)
            {
                // Before the outcome is reported: the next task of the job gets a fresh container.
                await StopAsync(decision.Container);
            }

            WakeWaiters(request.Job);
            return outcome.Exit;
        }
    }

    /// <summary>
    /// The job was changed, paused or deleted: its containers of other versions than <paramref name="keep"/> (all when
    /// null) stop, idle ones now, busy ones after their task.
    /// </summary>
    public void RetireJob(string job, long? keep = null)
    {
        IReadOnlyList<long> retire;
        lock (_lock)
        {
            retire = _pool.RetireJob(job, keep);
        }

        if (retire.Count > 0)
        {
            LogRetired(logger, retire.Count, job, "the job changed");
        }

        Stop(retire);
        WakeWaiters(job);
    }

    /// <summary>Retires idle containers past their job's <c>idleSeconds</c>, every second, until stopped.</summary>
    public async Task RunSweepAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(s_sweepInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                SweepIdle();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>One sweep: stops the containers idle for their job's <c>idleSeconds</c>.</summary>
    public void SweepIdle()
    {
        IReadOnlyList<long> expired;
        lock (_lock)
        {
            expired = _pool.Expired(time.GetUtcNow());
        }

        Stop(expired);
    }

    /// <summary>Stops every hot container (the node shuts down) and waits until they are gone.</summary>
    public async Task StopAllAsync()
    {
        IReadOnlyList<long> all;
        lock (_lock)
        {
            all = _pool.RetireAll();
        }

        Stop(all);
        Task[] stopping;
        lock (_lock)
        {
            stopping = [.. _stopping];
        }

        await Task.WhenAll(stopping);
    }

    private async Task<HotSession> StartAsync(long id, ContainerRunRequest request, CancellationToken cancellationToken)
    {
        var session = new HotSession(driver.MaxResponseBytes, request.Spec.MemoryMb, time);
        var container = await driver.StartAsync(new HotContainerRequest
        {
            Job = request.Job, JobVersion = request.JobVersion, Spec = request.Spec, Node = node, Id = id,
        }, session, cancellationToken);
        session.Container = container;
        lock (_lock)
        {
            _sessions[id] = session;
        }

        return session;
    }

    private Task ReleasedSignal(string job)
    {
        if (!_released.TryGetValue(job, out var signal))
        {
            _released[job] = signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        return signal.Task;
    }

    private void WakeWaiters(string job)
    {
        TaskCompletionSource? signal;
        lock (_lock)
        {
            _released.Remove(job, out signal);
        }

        signal?.TrySetResult();
    }

    private void Stop(IReadOnlyList<long> ids)
    {
        foreach (var id in ids)
        {
            var stopping = StopAsync(id);
            lock (_lock)
            {
                _stopping.Add(stopping);
            }

            _ = stopping.ContinueWith(t =>
            {
                lock (_lock)
                {
                    _stopping.Remove(t);
                }
            }, TaskScheduler.Default);
        }
    }

    private async Task StopAsync(long id)
    {
        HotSession? session;
        lock (_lock)
        {
            _sessions.Remove(id, out session);
        }

        if (session?.Container is not { } container)
        {
            return;
        }

        try
        {
            await container.DisposeAsync();
        }
        catch (Exception ex)
        {
            LogStopFailed(logger, ex, id);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Retired {Count} hot containers of job {Job}: {Reason}.")]
    private static partial void LogRetired(ILogger logger, int count, string job, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stopping hot container {Id} failed.")]
    private static partial void LogStopFailed(ILogger logger, Exception ex, long id);
}

using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Stevedore.Execution.Worker;

/// <summary>
/// Watches this node's container engine: asks it every <see cref="WorkerOptions.EngineCheckInterval"/> (and at once
/// when an attempt lost it) whether it answers, stops the dispatcher while it does not, and when it answers again
/// removes the containers attempts left on it (finished while it was away, or whose attempt ended as lost) before the
/// node leases again. <see cref="EngineGate"/> decides; this only applies its answers.
/// </summary>
internal sealed partial class EngineWatch(
    IContainerDriver driver, RunningAttempts running, Dispatcher dispatcher, TimeSpan interval, string node, ILogger logger)
{
    private static readonly TimeSpan s_checkTimeout = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan s_sweepTimeout = TimeSpan.FromSeconds(30);

    private readonly EngineGate _gate = new();
    private readonly Lock _lock = new();
    private readonly Channel<bool> _checkNow = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    /// <summary>An attempt found the engine gone: lease nothing more until it answers and its leftovers are swept.</summary>
    public void EngineLost()
    {
        Apply(() => _gate.AttemptLostEngine());
        _checkNow.Writer.TryWrite(true);
    }

    public async Task RunAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                using (var wait = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken))
                {
                    wait.CancelAfter(interval);
                    try
                    {
                        await _checkNow.Reader.WaitToReadAsync(wait.Token);
                        _checkNow.Reader.TryRead(out _);
                    }
                    catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
                    {
                    }
                }

                try
                {
                    await CheckAsync(stoppingToken);
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    // This loop is the node's only way back to work once the engine went: nothing may end it.
                    LogCheckFailed(logger, ex, node);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task CheckAsync(CancellationToken stoppingToken)
    {
        string? problem;
        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken))
        {
            timeout.CancelAfter(s_checkTimeout);
            try
            {
                problem = await driver.CheckHealthAsync(timeout.Token);
            }
            catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
            {
                // An engine that accepts the connection and says nothing (one starting up, or stuck) does not answer.
                problem = $"no answer within {s_checkTimeout.TotalSeconds:0} s";
            }
        }

        stoppingToken.ThrowIfCancellationRequested();
        if (Apply(() => _gate.Checked(problem is null)) != EngineAction.Sweep)
        {
            return;
        }

        var done = false;
        try
        {
            // Bounded: a sweep stuck on an engine that stopped answering again must not keep the node from work.
            using var sweepTimeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            sweepTimeout.CancelAfter(s_sweepTimeout);
            var removed = await driver.RemoveLeftoversAsync(node, running.InDriverTaskIds, sweepTimeout.Token);
            LogEngineBack(logger, node, removed);
            done = true;
        }
        catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
        {
            LogSweepFailed(logger, ex, node);
        }

        Apply(() => _gate.Swept(done));
    }

    private EngineAction Apply(Func<EngineAction> step)
    {
        // The dispatcher is told inside the lock, so a stop and a resume reach it in the order the gate decided them.
        lock (_lock)
        {
            var action = step();
            switch (action)
            {
                case EngineAction.StopLeasing:
                    LogEngineAway(logger, node);
                    dispatcher.Pause();
                    break;
                case EngineAction.ResumeLeasing:
                    dispatcher.Resume();
                    break;
            }

            return action;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The container engine of node {Node} does not answer: the node takes no work until it does.")]
    private static partial void LogEngineAway(ILogger logger, string node);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The container engine of node {Node} answers again; {Count} containers left while it was away were removed. The node takes work again.")]
    private static partial void LogEngineBack(ILogger logger, string node, int count);

    [LoggerMessage(Level = LogLevel.Error, Message = "Checking the container engine of node {Node} failed; checking again.")]
    private static partial void LogCheckFailed(ILogger logger, Exception ex, string node);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Removing what the container engine of node {Node} held while it was away failed; trying again.")]
    private static partial void LogSweepFailed(ILogger logger, Exception ex, string node);
}

using Microsoft.Extensions.Logging;
using Stevedore.Storage;

namespace Stevedore.Execution.Worker;

/// <summary>
/// Every third of the lease: renews the leases of the tasks this node runs, and ends the attempts whose lease
/// lapsed elsewhere (their node died): kills their containers where this engine holds them, then tells their task
/// grains, which queue them again. Every node does this, so it goes on while any node lives.
/// </summary>
/// <remarks>
/// A node that could not reach the task store reaps nothing until it has reached it for a whole lease: while the
/// store was away no node could renew, so every lease looks lapsed, and the live nodes need a round to renew theirs.
/// </remarks>
internal sealed partial class LeaseKeeper(
    ITaskStore tasks,
    IGrainFactory grains,
    IContainerDriver driver,
    RunningAttempts running,
    TimeProvider time,
    TimeSpan leaseDuration,
    string node,
    ILogger logger)
{
    private DateTimeOffset _reapFrom;

    public async Task RunAsync(CancellationToken stoppingToken)
    {
        _reapFrom = time.GetUtcNow();
        using var timer = new PeriodicTimer(leaseDuration / 3, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await RenewAndReapAsync(stoppingToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogLeaseLoopFailed(logger, ex, node);
                    _reapFrom = time.GetUtcNow() + leaseDuration;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task RenewAndReapAsync(CancellationToken stoppingToken)
    {
        var now = time.GetUtcNow();
        await tasks.RenewLeasesAsync(running.TaskIds, now + leaseDuration, stoppingToken);
        if (now < _reapFrom)
        {
            return;
        }

        foreach (var lapsed in await tasks.FindLapsedLeasesAsync(now, 100, stoppingToken))
        {
            if (running.Contains(lapsed.Id))
            {
                continue; // Ours and alive: renewed just now, the store's clock read is older.
            }

            await driver.RemoveLabelledAsync(ContainerRunRequest.TaskLabel, lapsed.Id, stoppingToken);
            await grains.GetGrain<ITaskGrain>(lapsed.Id).ExpireLeaseAsync(lapsed.Attempt);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Renewing or reaping leases on node {Node} failed; trying again next round.")]
    private static partial void LogLeaseLoopFailed(ILogger logger, Exception ex, string node);
}

using Microsoft.Extensions.Logging;
using Stevedore.Storage;

namespace Stevedore.Execution.Worker;

/// <summary>
/// Every third of the lease: renews the leases of the tasks this node runs, and ends the attempts whose lease
/// lapsed elsewhere (their node died): kills their containers where this engine holds them, then tells their task
/// partitions, which queue them again. Every node does this, so it goes on while any node lives.
/// </summary>
/// <remarks>
/// A node that could not reach the task store reaps nothing until it has reached it again for a whole lease
/// (<see cref="ReapGate"/>): while the store was away no node could renew, so every lease looks lapsed, and the live
/// nodes need a round to renew theirs. Every round reads the store, so every round tells whether it is back.
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
    public async Task RunAsync(CancellationToken stoppingToken)
    {
        var gate = new ReapGate(leaseDuration, time.GetUtcNow());
        using var timer = new PeriodicTimer(leaseDuration / 3, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await RenewAndReapAsync(gate, stoppingToken);
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    // Anything short of the node stopping, a cancellation from a driver or storage call included,
                    // costs one round: a loop that ended here would let every lease of this node lapse.
                    LogLeaseLoopFailed(logger, ex, node);
                    gate.StoreFailed();
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task RenewAndReapAsync(ReapGate gate, CancellationToken stoppingToken)
    {
        var now = time.GetUtcNow();
        await tasks.RenewLeasesAsync(running.TaskIds, now + leaseDuration, stoppingToken);
        var lapsedLeases = await tasks.FindLapsedLeasesAsync(now, 100, stoppingToken);
        if (!gate.StoreReached(time.GetUtcNow()))
        {
            return;
        }

        foreach (var lapsed in lapsedLeases)
        {
            if (running.Contains(lapsed.Id))
            {
                continue; // Ours and alive: renewed just now, the store's clock read is older.
            }

            await driver.RemoveLabelledAsync(ContainerRunRequest.TaskLabel, lapsed.Id, stoppingToken);
            await grains.Partition(lapsed.Partition).ExpireLeaseAsync(lapsed.Id, lapsed.Attempt);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Renewing or reaping leases on node {Node} failed; trying again next round.")]
    private static partial void LogLeaseLoopFailed(ILogger logger, Exception ex, string node);
}

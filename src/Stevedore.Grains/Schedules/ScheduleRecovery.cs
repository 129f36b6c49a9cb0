using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Stevedore.Storage;

namespace Stevedore.Grains.Schedules;

/// <summary>
/// Wakes the schedules of a silo that died on a live one at once, instead of at their next reminder tick (up to a
/// minute later): a schedule records the silo holding it in the schedule store when it activates, and every live
/// silo, seeing a silo declared dead, wakes that silo's schedules. A wake of a schedule that is active already is a
/// no-op, so several silos doing it is harmless.
/// </summary>
public sealed partial class ScheduleRecovery(
    IClusterMembershipService membership, IScheduleStore store, IGrainFactory grains, ILogger<ScheduleRecovery> logger) : BackgroundService
{
    private readonly HashSet<SiloAddress> _handled = [];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var snapshot in membership.MembershipUpdates.WithCancellation(stoppingToken))
            {
                foreach (var member in snapshot.Members.Values)
                {
                    if (member.Status == SiloStatus.Dead && _handled.Add(member.SiloAddress))
                    {
                        await WakeSchedulesOfAsync(member.SiloAddress, stoppingToken);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task WakeSchedulesOfAsync(SiloAddress dead, CancellationToken cancellationToken)
    {
        try
        {
            var ids = await store.ListBySiloAsync(dead.ToParsableString(), cancellationToken);
            foreach (var id in ids)
            {
                await grains.GetGrain<IScheduleGrain>(id).WakeAsync();
            }

            if (ids.Count > 0)
            {
                LogWoken(logger, ids.Count, dead);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Their reminders still wake them within a period.
            LogWakeFailed(logger, ex, dead);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Woke {Count} schedules of dead silo {Silo}.")]
    private static partial void LogWoken(ILogger logger, int count, SiloAddress silo);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not wake the schedules of dead silo {Silo}; their reminders will.")]
    private static partial void LogWakeFailed(ILogger logger, Exception exception, SiloAddress silo);
}

using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Stevedore.Options;

namespace Stevedore.Grains.Retention;

/// <summary>
/// Sweeps finished tasks past their retention. The reminder only starts a sweep; each batch runs in its own
/// grain-timer tick (the next one after <see cref="RetentionOptions.BatchPause"/>), so the work is paced and a sweep of
/// a large backlog never holds the reminder callback.
/// </summary>
public sealed partial class JanitorGrain(RetentionSweeper sweeper, IOptions<RetentionOptions> options, ILogger<JanitorGrain> logger)
    : Grain, IJanitorGrain, IRemindable
{
    public const string ReminderName = "retention";

    private IGrainTimer? _sweep;
    private int _deleted;

    public async Task StartAsync()
    {
        var period = options.Value.SweepInterval;
        await this.RegisterOrUpdateReminder(ReminderName, period, period);
    }

    public Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName == ReminderName && _sweep is null)
        {
            _deleted = 0;
            _sweep = this.RegisterGrainTimer(SweepBatchAsync, new GrainTimerCreationOptions(TimeSpan.Zero, options.Value.BatchPause) { KeepAlive = true });
        }

        return Task.CompletedTask;
    }

    private async Task SweepBatchAsync(CancellationToken cancellationToken)
    {
        var more = false;
        try
        {
            var result = await sweeper.SweepBatchAsync(cancellationToken);
            _deleted += result.Tasks;
            more = result.More;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The store may be away for a moment; the next reminder tries again.
            LogSweepFailed(logger, ex);
        }

        if (!more)
        {
            if (_deleted > 0)
            {
                LogSwept(logger, _deleted);
            }

            _sweep?.Dispose();
            _sweep = null;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Retention removed {Count} finished tasks.")]
    private static partial void LogSwept(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A retention sweep failed; the next one tries again.")]
    private static partial void LogSweepFailed(ILogger logger, Exception ex);
}

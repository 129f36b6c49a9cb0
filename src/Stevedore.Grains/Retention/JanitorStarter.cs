using Microsoft.Extensions.Logging;

namespace Stevedore.Grains.Retention;

/// <summary>
/// Makes sure the janitor's reminder exists once this silo is active (every silo does; registering is idempotent).
/// Never holds up the silo's start: while the reminder table cannot be reached it tries again in the background.
/// </summary>
public sealed partial class JanitorStarter(IGrainFactory grains, TimeProvider time, ILogger<JanitorStarter> logger) : ILifecycleParticipant<ISiloLifecycle>
{
    private readonly CancellationTokenSource _stopping = new();

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(JanitorStarter), ServiceLifecycleStage.Active, OnActive, OnStop);

    private Task OnActive(CancellationToken cancellationToken)
    {
        _ = RegisterAsync(_stopping.Token);
        return Task.CompletedTask;
    }

    private Task OnStop(CancellationToken cancellationToken)
    {
        _stopping.Cancel();
        return Task.CompletedTask;
    }

    private async Task RegisterAsync(CancellationToken stopping)
    {
        for (var attempt = 1; !stopping.IsCancellationRequested; attempt++)
        {
            try
            {
                await grains.GetGrain<IJanitorGrain>(0).StartAsync();
                return;
            }
            catch (Exception ex) when (!stopping.IsCancellationRequested)
            {
                LogRetry(logger, ex, attempt);
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(Math.Min(60, 2 * attempt)), time, stopping);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Registering the retention reminder failed (try {Attempt}); trying again.")]
    private static partial void LogRetry(ILogger logger, Exception ex, int attempt);
}

namespace Stevedore.Grains;

/// <summary>When a failed attempt runs again: <c>retryDelaySeconds × retryBackoff^(attempt-1)</c>, at most a day.</summary>
public static class RetryPolicy
{
    public static readonly TimeSpan MaxDelay = TimeSpan.FromDays(1);

    /// <param name="attempt">The number of the attempt that just failed (1-based).</param>
    public static TimeSpan DelayAfter(JobSpec spec, int attempt)
    {
        var seconds = spec.RetryDelaySeconds * Math.Pow(spec.RetryBackoff, Math.Max(0, attempt - 1));
        return double.IsFinite(seconds) && seconds < MaxDelay.TotalSeconds ? TimeSpan.FromSeconds(seconds) : MaxDelay;
    }
}

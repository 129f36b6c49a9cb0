using Microsoft.Extensions.Options;

namespace Stevedore.Options;

/// <summary>The <c>/metrics</c> endpoint. Configuration section <c>Stevedore:Metrics</c>.</summary>
public sealed class MetricsOptions
{
    public const string Section = "Stevedore:Metrics";

    /// <summary>
    /// When true, <c>/metrics</c> answers without the admin token (for a Prometheus that cannot send one). Job names
    /// and counts are then visible to anyone who reaches the port.
    /// </summary>
    public bool Anonymous { get; set; }

    /// <summary>How often each queue partition publishes its per-job depth and oldest wait for the gauges.</summary>
    public TimeSpan QueueSampleInterval { get; set; } = TimeSpan.FromSeconds(5);
}

/// <summary>Refuses metrics settings that cannot work, naming the key.</summary>
public sealed class MetricsOptionsValidator : IValidateOptions<MetricsOptions>
{
    public ValidateOptionsResult Validate(string? name, MetricsOptions options) =>
        options.QueueSampleInterval >= TimeSpan.FromMilliseconds(100) && options.QueueSampleInterval <= TimeSpan.FromMinutes(10)
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail($"{MetricsOptions.Section}:QueueSampleInterval must be from 00:00:00.1 to 00:10:00; got {options.QueueSampleInterval}.");
}

using Microsoft.Extensions.Options;

namespace Stevedore.Options;

/// <summary>How long finished tasks are kept, and how they are swept away. Configuration section <c>Stevedore:Retention</c>.</summary>
/// <remarks>
/// A finished task goes with its payload, log, result and idempotency key once it has been finished for
/// <see cref="FinishedTasks"/> (or its job's <c>retentionDays</c>). One janitor grain in the cluster sweeps every
/// <see cref="SweepInterval"/> (an Orleans reminder), deleting <see cref="BatchSize"/> tasks per statement with a
/// <see cref="BatchPause"/> between batches, so enqueues never wait behind it. A retention shorter than the
/// idempotency window ends a deleted task's idempotency early.
/// </remarks>
public sealed class RetentionOptions
{
    public const string Section = "Stevedore:Retention";

    public TimeSpan FinishedTasks { get; set; } = TimeSpan.FromDays(7);

    /// <summary>How often the janitor looks for expired tasks; at least a minute (Orleans reminders tick no faster).</summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Tasks deleted per batch.</summary>
    public int BatchSize { get; set; } = 500;

    /// <summary>Pause between two batches of one sweep.</summary>
    public TimeSpan BatchPause { get; set; } = TimeSpan.FromMilliseconds(50);
}

/// <summary>Refuses retention settings that cannot work, naming the key.</summary>
public sealed class RetentionOptionsValidator : IValidateOptions<RetentionOptions>
{
    public ValidateOptionsResult Validate(string? name, RetentionOptions options)
    {
        var failures = new List<string>();
        if (options.FinishedTasks < TimeSpan.FromMinutes(1))
        {
            failures.Add($"{RetentionOptions.Section}:FinishedTasks must be at least 00:01:00 (e.g. 7.00:00:00 for a week); got {options.FinishedTasks}.");
        }

        if (options.SweepInterval < TimeSpan.FromMinutes(1))
        {
            failures.Add($"{RetentionOptions.Section}:SweepInterval must be at least 00:01:00 (Orleans reminders tick no faster); got {options.SweepInterval}.");
        }

        if (options.BatchSize is < 1 or > 10_000)
        {
            failures.Add($"{RetentionOptions.Section}:BatchSize must be from 1 to 10000; got {options.BatchSize}.");
        }

        if (options.BatchPause < TimeSpan.Zero || options.BatchPause > TimeSpan.FromMinutes(1))
        {
            failures.Add($"{RetentionOptions.Section}:BatchPause must be from 00:00:00 to 00:01:00; got {options.BatchPause}.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

using Microsoft.Extensions.Options;

namespace Stevedore.Application;

/// <summary>Refuses log settings that cannot work, naming the key to fix.</summary>
public sealed class LogOptionsValidator : IValidateOptions<LogOptions>
{
    public ValidateOptionsResult Validate(string? name, LogOptions options)
    {
        var failures = new List<string>();
        if (options.MaxFollowersPerTask < 1)
        {
            failures.Add($"{LogOptions.Section}:MaxFollowersPerTask must be at least 1; got {options.MaxFollowersPerTask}.");
        }

        if (options.MaxFollowersPerNode < options.MaxFollowersPerTask)
        {
            failures.Add($"{LogOptions.Section}:MaxFollowersPerNode must be at least MaxFollowersPerTask ({options.MaxFollowersPerTask}); got {options.MaxFollowersPerNode}.");
        }

        if (options.QueuedFollowTimeout <= TimeSpan.Zero)
        {
            failures.Add($"{LogOptions.Section}:QueuedFollowTimeout must be positive (e.g. 00:05:00).");
        }

        if (options.ReadPageBytes is < 4096 or > 16 * 1024 * 1024)
        {
            failures.Add($"{LogOptions.Section}:ReadPageBytes must be from 4096 to 16777216; got {options.ReadPageBytes}.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

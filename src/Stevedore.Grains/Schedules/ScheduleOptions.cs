using Microsoft.Extensions.Options;

namespace Stevedore.Grains.Schedules;

/// <summary>How schedules wake. Configuration section <c>Stevedore:Schedules</c>.</summary>
/// <remarks>
/// A schedule's Orleans reminder ticks every <see cref="ReminderPeriod"/>; an occurrence due within one and a half
/// periods is fired by a grain timer at its second. Shorter periods mean more reminder ticks (one grain call each, no
/// table write); below a minute Orleans itself warns, and the host lowers Orleans' minimum reminder period to match.
/// </remarks>
public sealed class ScheduleOptions
{
    public const string Section = "Stevedore:Schedules";

    public TimeSpan ReminderPeriod { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How far ahead the grain timer is armed: occurrences beyond wait for a reminder tick.</summary>
    public TimeSpan TimerHorizon => ReminderPeriod + (ReminderPeriod / 2);
}

public sealed class ScheduleOptionsValidator : IValidateOptions<ScheduleOptions>
{
    public ValidateOptionsResult Validate(string? name, ScheduleOptions options) =>
        options.ReminderPeriod < TimeSpan.FromSeconds(1) || options.ReminderPeriod > TimeSpan.FromHours(1)
            ? ValidateOptionsResult.Fail($"{ScheduleOptions.Section}:ReminderPeriod must be from 00:00:01 to 01:00:00; got {options.ReminderPeriod}.")
            : ValidateOptionsResult.Success;
}

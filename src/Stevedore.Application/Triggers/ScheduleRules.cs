using System.Globalization;

namespace Stevedore.Application.Triggers;

/// <summary>What a schedule has done so far: its durable bookkeeping, kept in its grain's state.</summary>
[GenerateSerializer, Immutable, Alias("stevedore.ScheduleProgress")]
public sealed record ScheduleProgress
{
    /// <summary>Every occurrence at or before this instant is dealt with (fired, skipped, or passed while paused).</summary>
    [Id(0)] public DateTimeOffset? Cursor { get; init; }
    [Id(1)] public int Runs { get; init; }
    [Id(2)] public int Skipped { get; init; }
    /// <summary>The occurrence the latest task stands for.</summary>
    [Id(3)] public DateTimeOffset? LastRunAt { get; init; }
    [Id(4)] public string? LastTaskId { get; init; }
    /// <summary>
    /// An occurrence whose task is being created: written before the task is, so that an activation that takes over
    /// after a crash creates it again with the same idempotency key (getting the task the first one made) before
    /// anything else.
    /// </summary>
    [Id(5)] public DateTimeOffset? Pending { get; init; }
    [Id(6)] public bool Paused { get; init; }
    [Id(7)] public bool Finished { get; init; }
}

public enum ScheduleAction
{
    /// <summary>Nothing is due; <see cref="ScheduleDecision.At"/> is the next occurrence (null while paused).</summary>
    Wait,
    /// <summary>Create the task of the occurrence <see cref="ScheduleDecision.At"/>.</summary>
    Fire,
    /// <summary>The occurrence <see cref="ScheduleDecision.At"/> is due but the previous task still runs (overlap skip).</summary>
    Skip,
    /// <summary>No occurrence is left.</summary>
    Finish,
}

public readonly record struct ScheduleDecision(ScheduleAction Action, DateTimeOffset? At);

/// <summary>
/// The decisions of a schedule, as pure functions of its definition, its bookkeeping and the time: which occurrence
/// fires now, whether it is skipped, what comes next, when it is over. The schedule grain only applies the answers.
/// </summary>
public static class ScheduleRules
{
    /// <summary>The label every task of a schedule carries: <c>schedule=&lt;id&gt;</c> (list them with <c>?label=schedule:&lt;id&gt;</c>).</summary>
    public const string ScheduleLabel = "schedule";

    /// <summary>The label naming the occurrence a task stands for, as an ISO 8601 UTC instant.</summary>
    public const string OccurrenceLabel = "occurrence";

    /// <summary>
    /// The occurrence due now, if any: the latest one after the cursor and at or before <paramref name="now"/>. After
    /// downtime that is the newest missed occurrence, so missed ones fire once, not once each.
    /// </summary>
    public static DateTimeOffset? Due(ScheduleClock clock, ScheduleProgress progress, DateTimeOffset now) =>
        progress.Pending ?? clock.Latest(progress.Cursor ?? DateTimeOffset.MinValue, now);

    /// <summary>
    /// What to do now. <paramref name="previousRunActive"/> says whether the task of the latest run is still queued or
    /// running; it only matters when something is <see cref="Due"/>.
    /// </summary>
    public static ScheduleDecision Decide(ScheduleClock clock, ScheduleSpec spec, ScheduleProgress progress, DateTimeOffset now, bool previousRunActive)
    {
        if (progress.Finished)
        {
            return new(ScheduleAction.Finish, null);
        }

        if (progress.Paused)
        {
            return new(ScheduleAction.Wait, null);
        }

        if (progress.Pending is { } pending)
        {
            // Decided before a crash: its task may exist already; creating it again returns that one.
            return new(ScheduleAction.Fire, pending);
        }

        if (spec.MaxRuns is { } max && progress.Runs >= max)
        {
            return new(ScheduleAction.Finish, null);
        }

        if (Due(clock, progress, now) is { } due)
        {
            return spec.Overlap == ScheduleOverlap.Skip && previousRunActive
                ? new(ScheduleAction.Skip, due)
                : new(ScheduleAction.Fire, due);
        }

        return clock.Next(progress.Cursor ?? DateTimeOffset.MinValue) is { } next
            ? new(ScheduleAction.Wait, next)
            : new(ScheduleAction.Finish, null);
    }

    /// <summary>The occurrence is about to fire: recorded before its task is created.</summary>
    public static ScheduleProgress Firing(ScheduleProgress progress, DateTimeOffset occurrence) => progress with { Pending = occurrence };

    /// <summary>The occurrence made (or found) its task.</summary>
    public static ScheduleProgress Fired(ScheduleProgress progress, DateTimeOffset occurrence, string taskId) => progress with
    {
        Cursor = Later(progress.Cursor, occurrence),
        Runs = progress.Runs + 1,
        LastRunAt = occurrence,
        LastTaskId = taskId,
        Pending = null,
    };

    public static ScheduleProgress Skip(ScheduleProgress progress, DateTimeOffset occurrence) => progress with
    {
        Cursor = Later(progress.Cursor, occurrence),
        Skipped = progress.Skipped + 1,
    };

    public static ScheduleProgress Finish(ScheduleProgress progress) => progress with { Finished = true, Pending = null };

    public static ScheduleProgress Pause(ScheduleProgress progress) => progress.Finished ? progress : progress with { Paused = true };

    /// <summary>Occurrences that came while paused never fire: the cursor moves to now.</summary>
    public static ScheduleProgress Resume(ScheduleProgress progress, DateTimeOffset now) =>
        progress.Paused ? progress with { Paused = false, Cursor = Later(progress.Cursor, now) } : progress;

    public static ScheduleState StateOf(ScheduleProgress progress) =>
        progress.Finished ? ScheduleState.Finished : progress.Paused ? ScheduleState.Paused : ScheduleState.Active;

    /// <summary>The occurrence that fires next as readers see it: the one due (if overdue), else the next; null when paused or over.</summary>
    public static DateTimeOffset? NextRunAt(ScheduleClock clock, ScheduleSpec spec, ScheduleProgress progress, DateTimeOffset now)
    {
        if (progress.Finished || progress.Paused || (progress.Pending is null && spec.MaxRuns is { } max && progress.Runs >= max))
        {
            return null;
        }

        return Due(clock, progress, now) ?? clock.Next(progress.Cursor ?? DateTimeOffset.MinValue);
    }

    /// <summary>The idempotency key of an occurrence's task: one occurrence never makes two tasks.</summary>
    public static string IdempotencyKey(string scheduleId, DateTimeOffset occurrence) => $"schedule:{scheduleId}:{Format(occurrence)}";

    /// <summary>The labels of an occurrence's task: the schedule's own, plus <c>schedule</c> and <c>occurrence</c>.</summary>
    public static IReadOnlyDictionary<string, string> Labels(string scheduleId, ScheduleSpec spec, DateTimeOffset occurrence)
    {
        var labels = new Dictionary<string, string>(spec.Labels, StringComparer.Ordinal)
        {
            [ScheduleLabel] = scheduleId,
            [OccurrenceLabel] = Format(occurrence),
        };
        return labels;
    }

    public static string Format(DateTimeOffset instant) =>
        instant.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture);

    private static DateTimeOffset Later(DateTimeOffset? a, DateTimeOffset b) => a is { } x && x > b ? x : b;
}

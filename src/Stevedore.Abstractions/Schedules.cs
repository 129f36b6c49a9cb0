using System.Text.Json.Serialization;
using Orleans.Concurrency;

namespace Stevedore;

/// <summary>
/// One schedule (key: schedule id, 32 hex digits). Woken by an Orleans reminder at most once a minute and, while an
/// occurrence is near, by a grain timer at the occurrence; each occurrence creates one task through the application
/// layer with an idempotency key made of the schedule id and the occurrence time. Definition and run bookkeeping are
/// durable grain state; the payload lives in the schedule store.
/// </summary>
[Alias("stevedore.IScheduleGrain")]
public interface IScheduleGrain : IGrainWithStringKey
{
    /// <summary>The schedule as it is now; null when it does not exist (never created, or deleted).</summary>
    [Alias("Get")] Task<ScheduleInfo?> GetAsync();

    /// <summary>
    /// Creates the schedule. Idempotent: when it exists already, returns it unchanged (ids are fresh per create, so
    /// this only happens when a caller retries).
    /// </summary>
    [Alias("Create")] Task<ScheduleInfo> CreateAsync(ScheduleSpec spec, DateTimeOffset createdAt);

    /// <summary>Pauses (no occurrence fires) or resumes (occurrences after now fire); null when it does not exist.</summary>
    [Alias("SetPaused")] Task<ScheduleInfo?> SetPausedAsync(bool paused);

    /// <summary>Deletes the schedule and its reminder; false when it did not exist. Tasks it made are left alone.</summary>
    [Alias("Delete")] Task<bool> DeleteAsync();

    /// <summary>Activates the schedule so it fires what is due and arms itself (after its silo died). Harmless anytime.</summary>
    [Alias("Wake"), OneWay] Task WakeAsync();
}

[JsonConverter(typeof(JsonStringEnumConverter<ScheduleOverlap>))]
public enum ScheduleOverlap
{
    /// <summary>No new task while the previous one from this schedule is queued or running: the occurrence is skipped.</summary>
    [JsonStringEnumMemberName("skip")] Skip,
    /// <summary>Every occurrence makes a task.</summary>
    [JsonStringEnumMemberName("allow")] Allow,
}

[JsonConverter(typeof(JsonStringEnumConverter<ScheduleState>))]
public enum ScheduleState
{
    [JsonStringEnumMemberName("active")] Active,
    [JsonStringEnumMemberName("paused")] Paused,
    /// <summary>No occurrence is left: <c>maxRuns</c> reached, past <c>endAt</c>, or a cron that never matches again.</summary>
    [JsonStringEnumMemberName("finished")] Finished,
}

/// <summary>A validated schedule definition. Exactly one of <see cref="Cron"/> and <see cref="EverySeconds"/> is set.</summary>
[GenerateSerializer, Immutable, Alias("stevedore.ScheduleSpec")]
public sealed record ScheduleSpec
{
    [Id(0)] public required string Job { get; init; }
    /// <summary>5 fields, or 6 with seconds first.</summary>
    [Id(1)] public string? Cron { get; init; }
    /// <summary>IANA zone the cron expression is read in.</summary>
    [Id(2)] public string TimeZone { get; init; } = "UTC";
    [Id(3)] public int? EverySeconds { get; init; }
    [Id(4)] public DateTimeOffset? StartAt { get; init; }
    [Id(5)] public DateTimeOffset? EndAt { get; init; }
    [Id(6)] public int? MaxRuns { get; init; }
    /// <summary>Null: the job's priority.</summary>
    [Id(7)] public int? Priority { get; init; }
    // A fresh instance, never a shared one: grain storage serializers may fill a default collection in place.
    [Id(8)] public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();
    [Id(9)] public ScheduleOverlap Overlap { get; init; }
    /// <summary>Size of the payload kept in the schedule store.</summary>
    [Id(10)] public int PayloadBytes { get; init; }
}

/// <summary>A schedule as callers see it: its definition and what it has done.</summary>
[GenerateSerializer, Immutable, Alias("stevedore.ScheduleInfo")]
public sealed record ScheduleInfo
{
    [Id(0)] public required string Id { get; init; }
    [Id(1)] public required ScheduleSpec Spec { get; init; }
    [Id(2)] public ScheduleState State { get; init; }
    [Id(3)] public DateTimeOffset CreatedAt { get; init; }
    /// <summary>The next occurrence that will fire; null when paused or finished.</summary>
    [Id(4)] public DateTimeOffset? NextRunAt { get; init; }
    /// <summary>Occurrences that made a task.</summary>
    [Id(5)] public int Runs { get; init; }
    /// <summary>Occurrences skipped because the previous task was still queued or running (overlap skip).</summary>
    [Id(6)] public int Skipped { get; init; }
    /// <summary>The occurrence the latest task stands for.</summary>
    [Id(7)] public DateTimeOffset? LastRunAt { get; init; }
    [Id(8)] public string? LastTaskId { get; init; }
}

using Stevedore.Application.Triggers;

namespace Stevedore.Grains.Schedules;

/// <summary>A schedule's durable grain state: its definition and its bookkeeping. The payload is in the schedule store.</summary>
[GenerateSerializer, Alias("stevedore.ScheduleGrainState")]
public sealed class ScheduleGrainState
{
    /// <summary>Null: no such schedule (never created, or deleted).</summary>
    [Id(0)] public ScheduleSpec? Spec { get; set; }
    [Id(1)] public DateTimeOffset CreatedAt { get; set; }
    [Id(2)] public ScheduleProgress Progress { get; set; } = new();
}

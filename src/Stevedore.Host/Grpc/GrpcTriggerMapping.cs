using Google.Protobuf.WellKnownTypes;
using Stevedore.Application;
using Stevedore.Application.Triggers;
using Stevedore.Storage;
using V1 = Stevedore.Api.V1;

namespace Stevedore.Host.Grpc;

/// <summary>Schedules and webhooks of stevedore.v1 to drafts and back: shape only, every rule stays in the application layer.</summary>
public static class GrpcTriggerMapping
{
    // The instants a Timestamp may hold (0001-01-01 to 9999-12-31, as google.protobuf.Timestamp defines them).
    private const long MinSeconds = -62_135_596_800;
    private const long MaxSeconds = 253_402_300_799;

    /// <summary>
    /// The draft of a schedule. A timestamp outside what an instant can hold is the one shape error the message type
    /// cannot rule out (as a malformed date is for JSON): it is named in <paramref name="errors"/>.
    /// </summary>
    public static ScheduleDraft ToDraft(V1.ScheduleSpec? spec, FieldErrors errors) => spec is null ? new ScheduleDraft() : new ScheduleDraft
    {
        Cron = spec.HasCron ? spec.Cron : null,
        TimeZone = spec.HasTimeZone ? spec.TimeZone : null,
        EverySeconds = spec.HasEverySeconds ? spec.EverySeconds : null,
        StartAt = Instant(spec.StartAt, "startAt", errors),
        EndAt = Instant(spec.EndAt, "endAt", errors),
        MaxRuns = spec.HasMaxRuns ? spec.MaxRuns : null,
        // The message owns its bytes: no copy.
        Payload = spec.Payload.Memory,
        Priority = spec.HasPriority ? spec.Priority : null,
        Labels = spec.Labels.Count == 0 ? null : spec.Labels,
        Overlap = spec.Overlap switch
        {
            V1.ScheduleOverlap.Unspecified => null,
            V1.ScheduleOverlap.Skip => "skip",
            V1.ScheduleOverlap.Allow => "allow",
            // Unknown numbers pass through to be refused by the one validation.
            var other => ((int)other).ToString(System.Globalization.CultureInfo.InvariantCulture),
        },
    };

    public static V1.Schedule ToMessage(ScheduleInfo schedule)
    {
        var spec = schedule.Spec;
        var message = new V1.Schedule
        {
            Id = schedule.Id,
            Job = spec.Job,
            StartAt = GrpcMapping.Time(spec.StartAt),
            EndAt = GrpcMapping.Time(spec.EndAt),
            Overlap = spec.Overlap == ScheduleOverlap.Allow ? V1.ScheduleOverlap.Allow : V1.ScheduleOverlap.Skip,
            PayloadBytes = spec.PayloadBytes,
            State = schedule.State switch
            {
                ScheduleState.Active => V1.ScheduleState.Active,
                ScheduleState.Paused => V1.ScheduleState.Paused,
                ScheduleState.Finished => V1.ScheduleState.Finished,
                _ => V1.ScheduleState.Unspecified,
            },
            CreatedAt = Timestamp.FromDateTimeOffset(schedule.CreatedAt),
            NextRunAt = GrpcMapping.Time(schedule.NextRunAt),
            Runs = schedule.Runs,
            Skipped = schedule.Skipped,
            LastRunAt = GrpcMapping.Time(schedule.LastRunAt),
        };
        if (spec.Cron is { } cron)
        {
            message.Cron = cron;
            message.TimeZone = spec.TimeZone;
        }

        if (spec.EverySeconds is { } every)
        {
            message.EverySeconds = every;
        }

        if (spec.MaxRuns is { } maxRuns)
        {
            message.MaxRuns = maxRuns;
        }

        if (spec.Priority is { } priority)
        {
            message.Priority = priority;
        }

        if (schedule.LastTaskId is { } lastTaskId)
        {
            message.LastTaskId = lastTaskId;
        }

        foreach (var (key, value) in spec.Labels)
        {
            message.Labels[key] = value;
        }

        return message;
    }

    /// <summary>A webhook as listed (never its secret), with the URL to call it at.</summary>
    public static V1.Webhook ToMessage(WebhookRecord hook, string baseUrl)
    {
        var message = new V1.Webhook
        {
            Id = hook.Id,
            Job = hook.Job,
            Path = HookUrls.Path(hook.Id),
            Url = baseUrl + HookUrls.Path(hook.Id),
            CreatedAt = Timestamp.FromDateTimeOffset(hook.CreatedAt),
        };
        message.Headers.AddRange(hook.Headers);
        return message;
    }

    private static DateTimeOffset? Instant(Timestamp? time, string field, FieldErrors errors)
    {
        if (time is null)
        {
            return null;
        }

        if (time.Seconds is < MinSeconds or > MaxSeconds || time.Nanos is < 0 or > 999_999_999)
        {
            errors.Add(field, "must be an instant from 0001-01-01 to 9999-12-31 (seconds and nanos of a normalized Timestamp)");
            return null;
        }

        return time.ToDateTimeOffset();
    }
}

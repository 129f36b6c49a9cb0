using System.ComponentModel;
using System.Globalization;
using Google.Protobuf.WellKnownTypes;
using Spectre.Console;
using Spectre.Console.Cli;
using Stevedore.Client;

namespace Stevedore.Cli;

// Inside the namespace: the API's messages.
using Stevedore.Api.V1;

public sealed class ScheduleCreateSettings : PayloadSettings
{
    [CommandArgument(0, "<JOB>")]
    [Description("The job whose tasks the schedule makes")]
    public string Job { get; set; } = "";

    [CommandOption("--cron <EXPR>")]
    [Description("A cron expression, 5 fields (minute hour day month weekday) or 6 with seconds first")]
    public string? Cron { get; set; }

    [CommandOption("--tz <ZONE>")]
    [Description("The IANA time zone the cron expression is read in (default UTC), e.g. Europe/Berlin")]
    public string? TimeZone { get; set; }

    [CommandOption("--every <DURATION>")]
    [Description("Fire every this long instead of by cron: 10, 10s, 5m, 1h")]
    public string? Every { get; set; }

    [CommandOption("--start-at <TIME>")]
    [Description("No occurrence before this instant (ISO 8601, e.g. 2026-12-01T09:00:00Z; without an offset, UTC)")]
    public string? StartAt { get; set; }

    [CommandOption("--end-at <TIME>")]
    [Description("No occurrence after this instant (ISO 8601)")]
    public string? EndAt { get; set; }

    [CommandOption("--max-runs <N>")]
    [Description("Finish after this many tasks")]
    public long? MaxRuns { get; set; }

    [CommandOption("--priority <N>")]
    [Description("Priority of its tasks, 0 to 2 (default: the job's)")]
    public long? Priority { get; set; }

    [CommandOption("--overlap <POLICY>")]
    [Description("skip (default: no new task while the last one is queued or running) or allow")]
    public string? Overlap { get; set; }

    [CommandOption("-l|--label <KEY=VALUE>")]
    [Description("A label of its tasks; repeat for more")]
    public string[] Labels { get; set; } = [];

    public override ValidationResult Validate() => (Cron, Every, TimeZone, Overlap) switch
    {
        (null, null, _, _) => ValidationResult.Error("give --cron EXPR or --every DURATION"),
        ({ }, { }, _, _) => ValidationResult.Error("give --cron or --every, not both"),
        (null, _, { }, _) => ValidationResult.Error("--tz applies to --cron only; --every counts real seconds"),
        (_, _, _, not (null or "skip" or "allow")) => ValidationResult.Error($"--overlap '{Overlap}' is not a policy: use skip or allow"),
        _ => base.Validate(),
    };
}

/// <summary><c>stevedore schedule create JOB (--cron EXPR [--tz ZONE] | --every 10s) [options]</c>: prints the schedule.</summary>
public sealed class ScheduleCreateCommand : ClientCommand<ScheduleCreateSettings>
{
    protected override async Task<int> RunAsync(StevedoreClient client, CommandContext context, ScheduleCreateSettings s, CancellationToken ct)
    {
        var spec = new ScheduleSpec
        {
            Payload = await s.ReadPayloadAsync(ct),
            Overlap = s.Overlap switch
            {
                "allow" => ScheduleOverlap.Allow,
                "skip" => ScheduleOverlap.Skip,
                _ => ScheduleOverlap.Unspecified,
            },
            StartAt = Instant(s.StartAt, "--start-at"),
            EndAt = Instant(s.EndAt, "--end-at"),
        };
        foreach (var (key, value) in Check(Parsing.Pairs(s.Labels, "--label", '=', out var labelError), labelError))
        {
            spec.Labels[key] = value;
        }

        if (s.Cron is { } cron)
        {
            spec.Cron = cron;
        }

        if (s.TimeZone is { } zone)
        {
            spec.TimeZone = zone;
        }

        if (s.Every is { } every)
        {
            spec.EverySeconds = Check(Parsing.Seconds(every, "--every", out var e), e);
        }

        if (s.MaxRuns is { } maxRuns)
        {
            spec.MaxRuns = maxRuns;
        }

        if (s.Priority is { } priority)
        {
            spec.Priority = priority;
        }

        var schedule = await client.CreateScheduleAsync(s.Job, spec, ct);
        if (!s.Json)
        {
            Console.Error.WriteLine($"created schedule {schedule.Id}; list its tasks with: stevedore task list --label schedule:{schedule.Id}");
        }

        Output.Show(s, TriggerViews.Schedule(schedule), () => TriggerViews.Schedule(schedule, details: true));
        return ExitCodes.Ok;
    }

    private static Timestamp? Instant(string? text, string option)
    {
        if (text is null)
        {
            return null;
        }

        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var instant)
            ? Timestamp.FromDateTimeOffset(instant)
            : throw new UsageException($"{option} '{text}' is not a date and time: use ISO 8601, e.g. 2026-12-01T09:00:00Z");
    }
}

public sealed class ScheduleListSettings : OutputSettings
{
    [CommandOption("-j|--job <JOB>")]
    [Description("Only this job's schedules (default: every job's)")]
    public string? Job { get; set; }
}

/// <summary><c>stevedore schedule list [--job JOB]</c>: a job's schedules, or every job's.</summary>
public sealed class ScheduleListCommand : ClientCommand<ScheduleListSettings>
{
    protected override async Task<int> RunAsync(StevedoreClient client, CommandContext context, ScheduleListSettings s, CancellationToken ct)
    {
        var jobs = s.Job is { } job ? [job] : (await client.ListJobsAsync(ct)).Select(j => j.Name).ToList();
        var schedules = new List<Schedule>();
        foreach (var name in jobs)
        {
            try
            {
                schedules.AddRange(await client.ListSchedulesAsync(name, ct));
            }
            catch (StevedoreNotFoundException) when (s.Job is null)
            {
                // Deleted since it was listed.
            }
        }

        Output.Show(s, new { items = schedules.Select(TriggerViews.Schedule) }, () => TriggerViews.Schedules(schedules));
        return ExitCodes.Ok;
    }
}

/// <summary>Commands on one schedule.</summary>
public sealed class ScheduleIdSettings : OutputSettings
{
    [CommandArgument(0, "<ID>")]
    [Description("The schedule's id (32 hex digits)")]
    public string Id { get; set; } = "";
}

/// <summary><c>stevedore schedule get|pause|resume ID</c>: prints the schedule.</summary>
public sealed class ScheduleShowCommand : ClientCommand<ScheduleIdSettings>
{
    protected override async Task<int> RunAsync(StevedoreClient client, CommandContext context, ScheduleIdSettings s, CancellationToken ct)
    {
        var schedule = context.Name switch
        {
            "pause" => await client.PauseScheduleAsync(s.Id, ct),
            "resume" => await client.ResumeScheduleAsync(s.Id, ct),
            _ => await client.GetScheduleAsync(s.Id, ct),
        };
        Output.Show(s, TriggerViews.Schedule(schedule), () => TriggerViews.Schedule(schedule, details: context.Name == "get"));
        return ExitCodes.Ok;
    }
}

/// <summary><c>stevedore schedule delete ID</c></summary>
public sealed class ScheduleDeleteCommand : ClientCommand<ScheduleIdSettings>
{
    protected override async Task<int> RunAsync(StevedoreClient client, CommandContext context, ScheduleIdSettings s, CancellationToken ct)
    {
        await client.DeleteScheduleAsync(s.Id, ct);
        Console.Error.WriteLine($"deleted schedule {s.Id} (the tasks it made stay)");
        return ExitCodes.Ok;
    }
}

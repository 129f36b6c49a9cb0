using Spectre.Console;
using Stevedore.Api.V1;

namespace Stevedore.Cli;

/// <summary>Schedules, webhooks and events for people (tables) and for scripts (<c>-o json</c>, the HTTP API's shapes).</summary>
public static class TriggerViews
{
    public static string State(ScheduleState state) => state switch
    {
        ScheduleState.Active => "active",
        ScheduleState.Paused => "paused",
        ScheduleState.Finished => "finished",
        _ => "unknown",
    };

    public static string Overlap(ScheduleOverlap overlap) => overlap == ScheduleOverlap.Allow ? "allow" : "skip";

    public static object Schedule(Schedule s) => new ScheduleView(
        s.Id, s.Job, s.HasCron ? s.Cron : null, s.HasTimeZone ? s.TimeZone : null, s.HasEverySeconds ? s.EverySeconds : null,
        s.StartAt?.ToDateTimeOffset(), s.EndAt?.ToDateTimeOffset(), s.HasMaxRuns ? s.MaxRuns : null, s.HasPriority ? s.Priority : null,
        s.Labels, Overlap(s.Overlap), s.PayloadBytes, State(s.State), s.CreatedAt?.ToDateTimeOffset(), s.NextRunAt?.ToDateTimeOffset(),
        s.Runs, s.Skipped, s.LastRunAt?.ToDateTimeOffset(), s.HasLastTaskId ? s.LastTaskId : null);

    public static object Webhook(Webhook h) => new WebhookView(h.Id, h.Job, h.Url, h.Headers, h.CreatedAt?.ToDateTimeOffset());

    public static object CreatedWebhook(CreateWebhookResponse created)
    {
        var h = created.Webhook;
        return new CreatedWebhookView(h.Id, h.Job, h.Url, created.Secret, h.Headers, h.CreatedAt?.ToDateTimeOffset());
    }

    public static object Event(PublishEventResponse published) => new EventView(published.TaskIds, published.Jobs);

    /// <summary>When a schedule fires, in a few words: <c>0 9 * * 1-5 (Europe/Berlin)</c> or <c>every 30s</c>.</summary>
    public static string When(Schedule s) => s.HasCron ? $"{s.Cron} ({s.TimeZone})" : $"every {s.EverySeconds}s";

    public static Table Schedules(IEnumerable<Schedule> schedules)
    {
        var table = new Table().Border(TableBorder.Simple).AddColumns("ID", "JOB", "WHEN", "STATE", "NEXT RUN", "RUNS", "LAST TASK");
        foreach (var s in schedules)
        {
            table.AddRow(Output.Text(s.Id), Output.Text(s.Job), Output.Text(When(s)), Output.Text(State(s.State)), Output.Text(Output.Time(s.NextRunAt)),
                Output.Text(s.Runs.ToString(Output.Inv)), Output.Text(s.HasLastTaskId ? s.LastTaskId : "-"));
        }

        return table;
    }

    public static Grid Schedule(Schedule s, bool details)
    {
        var grid = Output.Details();
        Output.Row(grid, "id", s.Id);
        Output.Row(grid, "job", s.Job);
        Output.Row(grid, "when", When(s));
        Output.Row(grid, "state", State(s.State));
        Output.Row(grid, "nextRunAt", Output.Time(s.NextRunAt));
        Output.Row(grid, "runs", s.Skipped == 0 ? s.Runs.ToString(Output.Inv) : $"{s.Runs} ({s.Skipped} skipped)");
        if (!details)
        {
            return grid;
        }

        Output.Row(grid, "overlap", Overlap(s.Overlap));
        Output.Row(grid, "startAt", Output.Time(s.StartAt));
        Output.Row(grid, "endAt", Output.Time(s.EndAt));
        Output.Row(grid, "maxRuns", s.HasMaxRuns ? s.MaxRuns.ToString(Output.Inv) : "-");
        Output.Row(grid, "priority", s.HasPriority ? s.Priority.ToString(Output.Inv) : "(the job's)");
        Output.Row(grid, "payload", $"{s.PayloadBytes} bytes");
        if (s.Labels.Count > 0)
        {
            Output.Row(grid, "labels", string.Join(' ', s.Labels.Select(kv => $"{kv.Key}={kv.Value}")));
        }

        Output.Row(grid, "lastRunAt", Output.Time(s.LastRunAt));
        Output.Row(grid, "lastTaskId", s.HasLastTaskId ? s.LastTaskId : "-");
        Output.Row(grid, "created", Output.Time(s.CreatedAt));
        return grid;
    }

    public static Table Webhooks(IEnumerable<Webhook> hooks)
    {
        var table = new Table().Border(TableBorder.Simple).AddColumns("ID", "URL", "HEADERS", "CREATED");
        foreach (var h in hooks)
        {
            table.AddRow(Output.Text(h.Id), Output.Text(h.Url), Output.Text(h.Headers.Count == 0 ? "-" : string.Join(' ', h.Headers)),
                Output.Text(Output.Time(h.CreatedAt)));
        }

        return table;
    }

    public sealed record ScheduleView(
        string Id, string Job, string? Cron, string? TimeZone, long? EverySeconds, DateTimeOffset? StartAt, DateTimeOffset? EndAt,
        long? MaxRuns, long? Priority, IDictionary<string, string> Labels, string Overlap, long PayloadBytes, string State,
        DateTimeOffset? CreatedAt, DateTimeOffset? NextRunAt, long Runs, long Skipped, DateTimeOffset? LastRunAt, string? LastTaskId);

    public sealed record WebhookView(string Id, string Job, string Url, IReadOnlyList<string> Headers, DateTimeOffset? CreatedAt);

    public sealed record CreatedWebhookView(string Id, string Job, string Url, string Secret, IReadOnlyList<string> Headers, DateTimeOffset? CreatedAt);

    public sealed record EventView(IReadOnlyList<string> TaskIds, IReadOnlyList<string> Jobs);
}

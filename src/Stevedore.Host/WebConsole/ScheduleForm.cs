using Stevedore.Application;
using Stevedore.Application.Triggers;

namespace Stevedore.Host.WebConsole;

/// <summary>
/// The console's form for a new schedule, as typed. <see cref="ToDraft"/> only turns the typing into the draft the API
/// would build from JSON (numbers, labels, which of cron and every-N-seconds was chosen); every rule on schedules stays
/// in the application layer, which refuses with the same field names as the API.
/// </summary>
public sealed class ScheduleForm
{
    public const string ByCron = "cron";
    public const string ByInterval = "every";

    /// <summary><see cref="ByCron"/> or <see cref="ByInterval"/>: which of the two fields below counts.</summary>
    public string? Repeat { get; set; } = ByCron;
    public string? Cron { get; set; }
    public string? TimeZone { get; set; }
    public string? EverySeconds { get; set; }
    public string? MaxRuns { get; set; }
    public string? Overlap { get; set; }
    public string? Priority { get; set; }
    public string? Payload { get; set; }
    public string? Labels { get; set; }

    public bool IsInterval => Repeat == ByInterval;

    /// <summary>The draft, with what cannot even be read (a word where a number goes, a missing expression) in <paramref name="errors"/>.</summary>
    public ScheduleDraft ToDraft(FieldErrors errors)
    {
        if (Repeat is not (ByCron or ByInterval))
        {
            errors.Add("repeat", $"choose '{ByCron}' (a cron expression) or '{ByInterval}' (every N seconds)");
        }

        var cron = IsInterval ? null : Blank(Cron);
        var every = IsInterval ? ConsoleFormat.Number(EverySeconds, "everySeconds", errors) : null;
        if (Repeat == ByCron && cron is null)
        {
            errors.Add("cron", "is required: five fields (minute hour day month weekday), e.g. \"0 3 * * *\", or six with seconds first");
        }
        else if (IsInterval && every is null && !errors.Has("everySeconds"))
        {
            errors.Add("everySeconds", "is required: how many seconds from one run to the next (at least 1)");
        }

        return new ScheduleDraft
        {
            Cron = cron,
            TimeZone = IsInterval ? null : Blank(TimeZone),
            EverySeconds = every,
            MaxRuns = ConsoleFormat.Number(MaxRuns, "maxRuns", errors),
            Overlap = Blank(Overlap),
            Priority = ConsoleFormat.Number(Priority, "priority", errors),
            Payload = ConsoleFormat.TextBytes(Payload),
            Labels = ConsoleFormat.KeyValueLines(Labels, "labels", errors),
        };
    }

    private static string? Blank(string? text) => string.IsNullOrWhiteSpace(text) ? null : text.Trim();
}

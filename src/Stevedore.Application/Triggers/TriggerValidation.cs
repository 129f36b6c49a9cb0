using System.Text.RegularExpressions;
using Cronos;

namespace Stevedore.Application.Triggers;

/// <summary>The rules on schedules, webhooks and event topics, with messages that say what to send instead.</summary>
public static partial class TriggerValidation
{
    public const int MaxSubscriptions = 32;
    public const int MaxScheduleLabels = 30;
    public const int MaxEverySeconds = 366 * 86_400;
    public const int MaxHookHeaders = 16;

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{0,62}\\z")]
    private static partial Regex TopicPattern();

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9-]{0,63}\\z")]
    private static partial Regex HeaderNamePattern();

    // Headers that carry credentials: never handed to a container.
    private static readonly string[] s_secretHeaders = ["Authorization", "Cookie", "Proxy-Authorization", WebhookService.TokenHeader, WebhookService.SignatureHeader];

    public static string? CheckTopic(string? topic) =>
        topic is not null && TopicPattern().IsMatch(topic)
            ? null
            : $"topic '{Validation.Shorten(topic ?? "")}' is invalid: use 1–63 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit";

    public static void Subscriptions(IReadOnlyList<string>? topics, FieldErrors errors)
    {
        if (topics is null)
        {
            return;
        }

        if (topics.Count > MaxSubscriptions)
        {
            errors.Add("subscriptions", $"has more than {MaxSubscriptions} topics");
        }

        for (var i = 0; i < topics.Count; i++)
        {
            if (CheckTopic(topics[i]) is { } error)
            {
                errors.Add($"subscriptions[{i}]", error);
            }
        }
    }

    /// <summary>Checks a schedule draft; null (with errors) when it cannot become a schedule created at <paramref name="now"/>.</summary>
    public static ScheduleSpec? Schedule(string job, ScheduleDraft draft, DateTimeOffset now, FieldErrors errors)
    {
        if (draft.Cron is null && draft.EverySeconds is null)
        {
            errors.Add("cron", "either cron (e.g. \"0 3 * * *\") or everySeconds is required");
        }
        else if (draft.Cron is not null && draft.EverySeconds is not null)
        {
            errors.Add("everySeconds", "give either cron or everySeconds, not both");
        }

        if (draft.Cron is { } cron)
        {
            try
            {
                if (cron.Length > 256)
                {
                    throw new CronFormatException("is longer than 256 characters");
                }

                ScheduleClock.ParseCron(cron);
            }
            catch (CronFormatException ex)
            {
                errors.Add("cron", $"'{Validation.Shorten(cron)}' is not a cron expression: {ex.Message}");
            }
        }

        if (draft.TimeZone is { } zone)
        {
            if (draft.Cron is null)
            {
                errors.Add("timeZone", "applies to cron schedules only; everySeconds counts real seconds");
            }
            else if (!IsTimeZone(zone))
            {
                errors.Add("timeZone", $"'{Validation.Shorten(zone)}' is not an IANA time zone (such as UTC, Europe/Berlin or America/New_York)");
            }
        }

        if (draft.EverySeconds is { } every && (every < 1 || every > MaxEverySeconds))
        {
            errors.Add("everySeconds", $"must be a whole number from 1 to {MaxEverySeconds} (366 days); got {every}");
        }

        if (draft.EndAt is { } end)
        {
            if (end <= now)
            {
                errors.Add("endAt", $"{ScheduleRules.Format(end)} is in the past: the schedule would never fire");
            }
            else if (draft.StartAt is { } start && end <= start)
            {
                errors.Add("endAt", "must be after startAt");
            }
        }

        if (draft.MaxRuns is { } max && (max < 1 || max > int.MaxValue))
        {
            errors.Add("maxRuns", $"must be a whole number from 1 to {int.MaxValue}; got {max}");
        }

        if (draft.Overlap is { } overlap && overlap is not ("skip" or "allow"))
        {
            errors.Add("overlap", $"'{Validation.Shorten(overlap)}' is not an overlap policy: use skip (no new task while the previous one is queued or running) or allow");
        }

        // Priority and labels follow the rules of a task's.
        Validation.Task(new TaskDraft { Priority = draft.Priority, Labels = draft.Labels }, errors);
        if (draft.Labels is { } labels)
        {
            if (labels.Count > MaxScheduleLabels)
            {
                errors.Add("labels", $"has more than {MaxScheduleLabels} labels (the tasks also get 'schedule' and 'occurrence')");
            }

            foreach (var reserved in new[] { ScheduleRules.ScheduleLabel, ScheduleRules.OccurrenceLabel })
            {
                if (labels.ContainsKey(reserved))
                {
                    errors.Add($"labels.{reserved}", "is set by the schedule itself on every task it makes");
                }
            }
        }

        if (errors.Any)
        {
            return null;
        }

        var spec = new ScheduleSpec
        {
            Job = job,
            Cron = draft.Cron?.Trim(),
            TimeZone = draft.Cron is null ? "UTC" : draft.TimeZone ?? "UTC",
            EverySeconds = (int?)draft.EverySeconds,
            StartAt = draft.StartAt?.ToUniversalTime(),
            EndAt = draft.EndAt?.ToUniversalTime(),
            MaxRuns = (int?)draft.MaxRuns,
            Priority = (int?)draft.Priority,
            Labels = draft.Labels?.ToDictionary(StringComparer.Ordinal) ?? new Dictionary<string, string>(),
            Overlap = draft.Overlap == "allow" ? ScheduleOverlap.Allow : ScheduleOverlap.Skip,
            PayloadBytes = draft.Payload.Length,
        };
        if (ScheduleClock.For(spec, now).Next(now) is null)
        {
            errors.Add(spec.Cron is null ? "endAt" : "cron", "the schedule would never fire: no occurrence lies between now (or startAt) and endAt");
            return null;
        }

        return spec;
    }

    public static void Webhook(WebhookDraft draft, FieldErrors errors)
    {
        if (draft.Headers is not { } headers)
        {
            return;
        }

        if (headers.Count > MaxHookHeaders)
        {
            errors.Add("headers", $"has more than {MaxHookHeaders} header names");
        }

        for (var i = 0; i < headers.Count; i++)
        {
            if (!HeaderNamePattern().IsMatch(headers[i]))
            {
                errors.Add($"headers[{i}]", $"'{Validation.Shorten(headers[i])}' is not a header name (letters, digits and '-')");
            }
            else if (s_secretHeaders.Contains(headers[i], StringComparer.OrdinalIgnoreCase))
            {
                errors.Add($"headers[{i}]", $"{headers[i]} carries credentials; it is never passed to a container");
            }
        }
    }

    private static bool IsTimeZone(string zone)
    {
        if (zone.Length is 0 or > 64)
        {
            return false;
        }

        try
        {
            TimeZoneInfo.FindSystemTimeZoneById(zone);
            return true;
        }
        catch (Exception ex) when (ex is TimeZoneNotFoundException or InvalidTimeZoneException or ArgumentException)
        {
            return false;
        }
    }
}

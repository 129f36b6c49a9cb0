using Cronos;

namespace Stevedore.Application.Triggers;

/// <summary>
/// The occurrences of one schedule, as instants: a cron expression read in its IANA time zone (Cronos: a local time
/// skipped by a daylight-saving jump fires at the jump, a repeated local time fires once; expressions that match
/// every hour or more often fire in both copies of a repeated hour), or every <c>n</c> seconds on a grid anchored at
/// <c>startAt</c> (or one period after creation). No occurrence lies at or before creation, before <c>startAt</c> or after
/// <c>endAt</c>. Pure: no clock, no I/O.
/// </summary>
public sealed class ScheduleClock
{
    // Windows searched, smallest first, for the latest occurrence before an instant (cron has no "previous").
    private static readonly TimeSpan[] s_lookBack =
        [TimeSpan.FromMinutes(1), TimeSpan.FromHours(1), TimeSpan.FromDays(1), TimeSpan.FromDays(32), TimeSpan.FromDays(366), TimeSpan.FromDays(4 * 366)];

    private readonly CronExpression? _cron;
    private readonly TimeZoneInfo _zone = TimeZoneInfo.Utc;
    private readonly long _periodTicks;
    private readonly DateTimeOffset _anchor;
    private readonly DateTimeOffset _floor;
    private readonly DateTimeOffset? _end;

    private ScheduleClock(CronExpression? cron, TimeZoneInfo zone, long periodTicks, DateTimeOffset anchor, DateTimeOffset floor, DateTimeOffset? end)
    {
        _cron = cron;
        _zone = zone;
        _periodTicks = periodTicks;
        _anchor = anchor;
        _floor = floor;
        _end = end;
    }

    /// <summary>The clock of a validated spec. Throws when the spec was not validated (bad cron, unknown zone).</summary>
    public static ScheduleClock For(ScheduleSpec spec, DateTimeOffset createdAt)
    {
        createdAt = createdAt.ToUniversalTime();
        // Nothing fires at or before creation; startAt itself may fire.
        var floor = spec.StartAt is { } start && start > createdAt ? start.ToUniversalTime() : createdAt.AddTicks(1);
        if (spec.Cron is { } text)
        {
            return new ScheduleClock(ParseCron(text), TimeZoneInfo.FindSystemTimeZoneById(spec.TimeZone), 0, floor, floor, spec.EndAt);
        }

        var period = TimeSpan.FromSeconds(spec.EverySeconds ?? throw new ArgumentException("A schedule needs cron or everySeconds.", nameof(spec)));
        return new ScheduleClock(null, TimeZoneInfo.Utc, period.Ticks, spec.StartAt?.ToUniversalTime() ?? createdAt + period, floor, spec.EndAt);
    }

    /// <summary>Parses 5 fields (minute first) or 6 (second first), or a macro such as <c>@daily</c>.</summary>
    /// <exception cref="CronFormatException">The expression is not valid; the message says why.</exception>
    public static CronExpression ParseCron(string text)
    {
        var fields = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length;
        if (fields == 1 && text.TrimStart().StartsWith('@'))
        {
            return CronExpression.Parse(text.Trim(), CronFormat.Standard);
        }

        return fields switch
        {
            5 => CronExpression.Parse(text, CronFormat.Standard),
            6 => CronExpression.Parse(text, CronFormat.IncludeSeconds),
            _ => throw new CronFormatException(
                $"has {fields} field{(fields == 1 ? "" : "s")}; use 5 (minute hour day-of-month month day-of-week) or 6 (second first)"),
        };
    }

    /// <summary>The first occurrence strictly after <paramref name="after"/>; null when none is left.</summary>
    public DateTimeOffset? Next(DateTimeOffset after)
    {
        var lower = after == DateTimeOffset.MaxValue ? after : after.AddTicks(1);
        if (lower < _floor)
        {
            lower = _floor;
        }

        DateTimeOffset? next;
        if (_cron is null)
        {
            var k = lower <= _anchor ? 0 : CeilDiv(lower.UtcTicks - _anchor.UtcTicks, _periodTicks);
            next = Add(_anchor, k);
        }
        else
        {
            next = _cron.GetNextOccurrence(lower, _zone, inclusive: true)?.ToUniversalTime();
        }

        return next is { } t && (_end is null || t <= _end) ? t : null;
    }

    /// <summary>The latest occurrence in (<paramref name="after"/>, <paramref name="upTo"/>]; null when there is none.</summary>
    public DateTimeOffset? Latest(DateTimeOffset after, DateTimeOffset upTo)
    {
        if (_end is { } end && upTo > end)
        {
            upTo = end;
        }

        if (upTo < _floor || upTo <= after)
        {
            return null;
        }

        if (_cron is null)
        {
            if (upTo < _anchor)
            {
                return null;
            }

            var latest = Add(_anchor, (upTo.UtcTicks - _anchor.UtcTicks) / _periodTicks);
            return latest is { } t && t > after && t >= _floor ? t : null;
        }

        foreach (var window in s_lookBack.Append(upTo - after))
        {
            var from = window < upTo - after ? upTo - window : after;
            if (Next(from) is not { } first || first > upTo)
            {
                if (from == after)
                {
                    return null;
                }

                continue; // nothing in this window: look further back
            }

            var last = first;
            while (Next(last) is { } following && following <= upTo)
            {
                last = following;
            }

            return last;
        }

        return null;
    }

    private static long CeilDiv(long a, long b) => (a / b) + (a % b > 0 ? 1 : 0);

    private DateTimeOffset? Add(DateTimeOffset anchor, long periods) =>
        periods > (DateTimeOffset.MaxValue.UtcTicks - anchor.UtcTicks) / _periodTicks ? null : anchor.AddTicks(periods * _periodTicks);
}

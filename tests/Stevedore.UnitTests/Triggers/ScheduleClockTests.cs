using Cronos;
using Stevedore.Application.Triggers;

namespace Stevedore.UnitTests.Triggers;

/// <summary>
/// Occurrences of cron and interval schedules. The daylight-saving vectors were worked out by hand from the zones'
/// 2026 rules (Berlin: 29 Mar 02:00 CET → 03:00 CEST, 25 Oct 03:00 CEST → 02:00 CET; New York: 8 Mar 02:00 EST →
/// 03:00 EDT, 1 Nov 02:00 EDT → 01:00 EST) and compared with python3-croniter where it agrees; it does not around the
/// jumps, where these follow the rule Stevedore documents (a skipped local time fires at the jump, a repeated one
/// once; expressions that fire every hour or more often fire in both copies of a repeated hour).
/// </summary>
public class ScheduleClockTests
{
    private static readonly DateTimeOffset s_created = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static ScheduleClock Cron(string cron, string zone = "UTC", DateTimeOffset? endAt = null) =>
        ScheduleClock.For(new ScheduleSpec { Job = "j", Cron = cron, TimeZone = zone, EndAt = endAt }, s_created);

    private static DateTimeOffset Utc(string iso) => DateTimeOffset.Parse(iso, System.Globalization.CultureInfo.InvariantCulture);

    private static string[] Occurrences(ScheduleClock clock, string after, int count)
    {
        var list = new List<string>();
        var at = Utc(after);
        for (var i = 0; i < count && clock.Next(at) is { } next; i++)
        {
            list.Add(ScheduleRules.Format(next));
            at = next;
        }

        return [.. list];
    }

    [Theory]
    // Berlin, spring forward: 02:30 does not exist on 29 March; it fires at the jump (03:00 CEST = 01:00Z).
    [InlineData("30 2 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z", "2026-03-29T01:00:00Z,2026-03-30T00:30:00Z,2026-03-31T00:30:00Z")]
    // Berlin, fall back: 02:30 happens twice on 25 October (00:30Z CEST, 01:30Z CET); a daily job fires once.
    [InlineData("30 2 * * *", "Europe/Berlin", "2026-10-24T12:00:00Z", "2026-10-25T00:30:00Z,2026-10-26T01:30:00Z,2026-10-27T01:30:00Z")]
    // Berlin, fall back: every 30 minutes fires in both copies of the repeated hour.
    [InlineData("*/30 * * * *", "Europe/Berlin", "2026-10-25T00:00:00Z", "2026-10-25T00:30:00Z,2026-10-25T01:00:00Z,2026-10-25T01:30:00Z,2026-10-25T02:00:00Z")]
    // New York, spring forward: 02:00 does not exist on 8 March; it fires at 03:00 EDT (07:00Z), then 02:00 EDT.
    [InlineData("0 2 * * *", "America/New_York", "2026-03-07T12:00:00Z", "2026-03-08T07:00:00Z,2026-03-09T06:00:00Z,2026-03-10T06:00:00Z")]
    // New York, fall back: 01:30 happens twice on 1 November (05:30Z EDT, 06:30Z EST); once, then 01:30 EST.
    [InlineData("30 1 * * *", "America/New_York", "2026-10-31T12:00:00Z", "2026-11-01T05:30:00Z,2026-11-02T06:30:00Z,2026-11-03T06:30:00Z")]
    // New York, fall back: hourly fires at 01:00 EDT and again at 01:00 EST.
    [InlineData("0 * * * *", "America/New_York", "2026-11-01T04:30:00Z", "2026-11-01T05:00:00Z,2026-11-01T06:00:00Z,2026-11-01T07:00:00Z")]
    // Six fields: seconds first.
    [InlineData("*/15 * * * * *", "UTC", "2026-03-04T12:00:07Z", "2026-03-04T12:00:15Z,2026-03-04T12:00:30Z,2026-03-04T12:00:45Z")]
    [InlineData("5 0 9 * * 1-5", "Europe/Berlin", "2026-03-06T09:00:00Z", "2026-03-09T08:00:05Z,2026-03-10T08:00:05Z")]
    [InlineData("@daily", "UTC", "2026-03-04T12:00:00Z", "2026-03-05T00:00:00Z,2026-03-06T00:00:00Z")]
    public void Cron_NextOccurrences_FollowTheZonesRules(string cron, string zone, string after, string expected) =>
        Assert.Equal(expected.Split(','), Occurrences(Cron(cron, zone), after, expected.Split(',').Length));

    [Theory]
    [InlineData("* * * *", "has 4 fields")]
    [InlineData("* * * * * * *", "has 7 fields")]
    [InlineData("61 * * * *", "")]
    [InlineData("* * 32 * *", "")]
    [InlineData("0 0 * * MON-XYZ", "")]
    public void ParseCron_RefusesWhatIsNotCron(string cron, string message)
    {
        var error = Assert.Throws<CronFormatException>(() => ScheduleClock.ParseCron(cron));
        Assert.Contains(message, error.Message);
    }

    [Fact]
    public void Cron_Latest_IsTheNewestOccurrenceInTheRange_EvenFarBack()
    {
        var daily = Cron("0 3 * * *");
        Assert.Equal(Utc("2026-02-10T03:00:00Z"), daily.Latest(Utc("2026-01-05T00:00:00Z"), Utc("2026-02-10T17:00:00Z")));
        Assert.Null(daily.Latest(Utc("2026-02-10T03:00:00Z"), Utc("2026-02-10T17:00:00Z")));
        var yearly = Cron("0 0 1 1 *");
        Assert.Equal(Utc("2027-01-01T00:00:00Z"), yearly.Latest(Utc("2025-06-01T00:00:00Z"), Utc("2027-12-31T00:00:00Z")));
        var everySecond = Cron("* * * * * *");
        Assert.Equal(Utc("2026-05-01T10:00:00Z"), everySecond.Latest(Utc("2026-01-02T00:00:00Z"), Utc("2026-05-01T10:00:00.5Z")));
    }

    [Fact]
    public void Cron_RespectsEndAt_AndNeverGoesBeforeCreation()
    {
        var clock = Cron("0 * * * *", endAt: Utc("2026-01-01T02:00:00Z"));
        Assert.Equal(["2026-01-01T01:00:00Z", "2026-01-01T02:00:00Z"], Occurrences(clock, "2025-12-31T00:00:00Z", 5));
        Assert.Equal(Utc("2026-01-01T02:00:00Z"), clock.Latest(DateTimeOffset.MinValue, Utc("2026-03-01T00:00:00Z")));
        Assert.Null(Cron("0 * * * *").Latest(DateTimeOffset.MinValue, Utc("2025-12-31T23:59:00Z")));
    }

    [Fact]
    public void Every_StartsOnePeriodAfterCreation_OnAFixedGrid()
    {
        var clock = ScheduleClock.For(new ScheduleSpec { Job = "j", EverySeconds = 2 }, s_created);

        Assert.Equal(["2026-01-01T00:00:02Z", "2026-01-01T00:00:04Z", "2026-01-01T00:00:06Z"], Occurrences(clock, "2020-01-01T00:00:00Z", 3));
        Assert.Equal(Utc("2026-01-01T00:00:04Z"), clock.Next(Utc("2026-01-01T00:00:02.5Z")));
        Assert.Equal(Utc("2026-01-01T01:00:00Z"), clock.Latest(DateTimeOffset.MinValue, Utc("2026-01-01T01:00:01.9Z")));
        Assert.Null(clock.Latest(Utc("2026-01-01T01:00:00Z"), Utc("2026-01-01T01:00:01.9Z")));
    }

    [Fact]
    public void Every_WithStartAt_IsAnchoredThere_AndEndsAtEndAt()
    {
        var spec = new ScheduleSpec { Job = "j", EverySeconds = 10, StartAt = Utc("2026-01-01T00:01:00Z"), EndAt = Utc("2026-01-01T00:01:25Z") };
        var clock = ScheduleClock.For(spec, s_created);

        Assert.Equal(["2026-01-01T00:01:00Z", "2026-01-01T00:01:10Z", "2026-01-01T00:01:20Z"], Occurrences(clock, "2026-01-01T00:00:00Z", 5));
        Assert.Equal(Utc("2026-01-01T00:01:20Z"), clock.Latest(DateTimeOffset.MinValue, Utc("2026-01-02T00:00:00Z")));
    }

    [Fact]
    public void Every_WithStartAtInThePast_KeepsItsGrid_ButFiresNothingBeforeCreation()
    {
        var spec = new ScheduleSpec { Job = "j", EverySeconds = 60, StartAt = Utc("2025-12-31T23:59:30Z") };
        var clock = ScheduleClock.For(spec, s_created);

        Assert.Equal(["2026-01-01T00:00:30Z", "2026-01-01T00:01:30Z"], Occurrences(clock, "2025-01-01T00:00:00Z", 2));
        Assert.Null(clock.Latest(DateTimeOffset.MinValue, Utc("2026-01-01T00:00:29Z")));
    }
}

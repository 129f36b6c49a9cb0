using System.Text;
using Stevedore.Application;
using Stevedore.Host.WebConsole;
using Stevedore.Host.WebConsole.Pages;

namespace Stevedore.UnitTests;

public class ConsoleSessionTests
{
    private const string Token = "admin-token-0123456789";
    private static readonly DateTimeOffset s_now = new(2026, 7, 1, 9, 0, 0, TimeSpan.Zero);
    private static readonly ConsoleSession s_session = new(Token);

    [Theory]
    [InlineData(0, true)]
    [InlineData(3600, true)]
    [InlineData(11 * 3600 + 3599, true)]
    [InlineData(12 * 3600, false)]     // expired
    [InlineData(-30, true)]            // clocks a little apart
    [InlineData(-3600, false)]         // issued in the future
    public void ACookieItIssued_IsValid_ForTwelveHours(int secondsSinceIssue, bool valid) =>
        Assert.Equal(valid, s_session.IsValid(s_session.Issue(s_now), s_now.AddSeconds(secondsSinceIssue)));

    [Fact]
    public void ACookie_IsRefused_WhenTamperedWith_OrIssuedUnderAnotherToken()
    {
        var cookie = s_session.Issue(s_now);
        var parts = cookie.Split('.');
        var later = $"{parts[0]}.{long.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture) + 3600}.{parts[2]}";

        Assert.False(s_session.IsValid(later, s_now));
        Assert.False(s_session.IsValid(cookie[..^1] + (cookie[^1] == 'A' ? 'B' : 'A'), s_now));
        Assert.False(new ConsoleSession(Token + "x").IsValid(cookie, s_now));
        Assert.False(s_session.IsValid(null, s_now));
        Assert.False(s_session.IsValid("", s_now));
        Assert.False(s_session.IsValid("v1.x.y", s_now));
        Assert.False(s_session.IsValid("v2." + cookie[3..], s_now));
    }

    [Theory]
    [InlineData(Token, true)]
    [InlineData(" " + Token + " ", true)]
    [InlineData(Token + "x", false)]
    [InlineData("", false)]
    [InlineData(null, false)]
    public void IsToken_ComparesWithTheAdminToken(string? given, bool matches) => Assert.Equal(matches, s_session.IsToken(given));

    [Theory]
    [InlineData("/console/tasks?status=failed", "/console/tasks?status=failed")]
    [InlineData("/console", "/console")]
    [InlineData("https://elsewhere.example/console", "/console")]
    [InlineData("//elsewhere.example/console", "/console")]
    [InlineData("/console\\..\\x", "/console")]
    [InlineData("/v1/jobs", "/console")]
    [InlineData(null, "/console")]
    public void Login_ReturnsOnlyIntoTheConsole(string? returnUrl, string expected) => Assert.Equal(expected, LoginModel.SafeReturn(returnUrl));
}

public class ConsoleFormatTests
{
    [Theory]
    [InlineData(0.25, "250 ms")]
    [InlineData(1.5, "1.5 s")]
    [InlineData(61, "1 min 1 s")]
    [InlineData(3 * 3600 + 120, "3 h 2 min")]
    [InlineData(2 * 86400 + 3600, "2 d 1 h")]
    [InlineData(-1, "–")]
    public void Duration_IsShortAndReadable(double seconds, string expected) =>
        Assert.Equal(expected, ConsoleFormat.Duration(TimeSpan.FromSeconds(seconds)));

    [Fact]
    public void Preview_ShowsText_CutOnACharacterBoundary()
    {
        var text = string.Concat(Enumerable.Repeat("é", 10)); // 2 bytes each
        var preview = ConsoleFormat.Preview(Encoding.UTF8.GetBytes(text), max: 5);

        Assert.True(preview.IsText);
        Assert.True(preview.Truncated);
        Assert.Equal("éé", preview.Text);
        Assert.Equal(20, preview.Length);
        Assert.Equal(("hi", false), (ConsoleFormat.Preview("hi"u8.ToArray()).Text, ConsoleFormat.Preview("hi"u8.ToArray()).Truncated));
    }

    [Fact]
    public void Preview_ShowsBinaryAsHex()
    {
        var preview = ConsoleFormat.Preview(new byte[] { 0xff, 0x00, 0x41 });

        Assert.False(preview.IsText);
        Assert.Equal("0000  ff 00 41\n", preview.Text);
    }

    [Fact]
    public void KeyValueLines_ReadLabels_AndNameTheBadLine()
    {
        var errors = new FieldErrors();

        Assert.Equal(new Dictionary<string, string> { ["a"] = "1", ["b"] = "x=y" }, ConsoleFormat.KeyValueLines("a=1\r\n\nb=x=y\n", "labels", errors));
        Assert.False(errors.Any);
        ConsoleFormat.KeyValueLines("a=1\nnope", "labels", errors);
        Assert.Contains("line 2", errors.ToDictionary()["labels"][0]);
        Assert.Null(ConsoleFormat.KeyValueLines("  ", "labels", errors));
    }

    [Theory]
    [InlineData(null, null, false)]
    [InlineData("", null, false)]
    [InlineData(" 42 ", 42L, false)]
    [InlineData("-1", -1L, false)]
    [InlineData("1.5", null, true)]
    [InlineData("ten", null, true)]
    public void Number_ReadsAWholeNumber_OrSaysWhatIsWrong(string? text, long? expected, bool error)
    {
        var errors = new FieldErrors();

        Assert.Equal(expected, ConsoleFormat.Number(text, "delaySeconds", errors));
        Assert.Equal(error, errors.Has("delaySeconds"));
    }
}

public class ScheduleFormTests
{
    [Theory]
    [InlineData("cron", " 0 3 * * * ", "Europe/Berlin", "", "0 3 * * *", "Europe/Berlin", null, "")]
    [InlineData("cron", "0 3 * * *", " ", "30", "0 3 * * *", null, null, "")]                 // the other kind's field is ignored
    [InlineData("every", "0 3 * * *", "Europe/Berlin", " 30 ", null, null, 30L, "")]         // so are cron and its zone
    [InlineData("cron", "  ", "", "", null, null, null, "cron")]                              // the chosen field is required
    [InlineData("every", "", "", "", null, null, null, "everySeconds")]
    [InlineData("every", "", "", "half a minute", null, null, null, "everySeconds")]
    [InlineData("hourly", "", "", "", null, null, null, "repeat")]
    public void ToDraft_TakesTheChosenKindOfRepeat(
        string repeat, string cron, string zone, string every, string? cronOut, string? zoneOut, long? everyOut, string errorField)
    {
        var errors = new FieldErrors();
        var draft = new ScheduleForm { Repeat = repeat, Cron = cron, TimeZone = zone, EverySeconds = every }.ToDraft(errors);

        Assert.Equal(cronOut, draft.Cron);
        Assert.Equal(zoneOut, draft.TimeZone);
        Assert.Equal(everyOut, draft.EverySeconds);
        Assert.Equal(errorField, string.Join(",", errors.ToDictionary().Keys));
    }

    [Fact]
    public void ToDraft_ReadsNumbersLabelsAndPayload_AsTheApiWould()
    {
        var errors = new FieldErrors();
        var draft = new ScheduleForm
        {
            Repeat = ScheduleForm.ByInterval, EverySeconds = "60", MaxRuns = "5", Priority = "2", Overlap = " allow ",
            Payload = "line 1\r\nline 2", Labels = "team=ops\r\n\r\nkind=nightly",
        }.ToDraft(errors);

        Assert.False(errors.Any);
        Assert.Equal(5, draft.MaxRuns);
        Assert.Equal(2, draft.Priority);
        Assert.Equal("allow", draft.Overlap);
        Assert.Equal("line 1\nline 2", Encoding.UTF8.GetString(draft.Payload.Span));
        Assert.Equal(new Dictionary<string, string> { ["team"] = "ops", ["kind"] = "nightly" }, draft.Labels);

        var wrong = new FieldErrors();
        new ScheduleForm { Repeat = ScheduleForm.ByInterval, EverySeconds = "60", MaxRuns = "many", Labels = "no equals sign" }.ToDraft(wrong);
        Assert.Equal(["labels", "maxRuns"], wrong.ToDictionary().Keys.Order());
    }
}

using Stevedore.Cli;

namespace Stevedore.UnitTests.Cli;

public class ParsingTests
{
    [Theory]
    [InlineData("90", 90)]
    [InlineData("0", 0)]
    [InlineData("30s", 30)]
    [InlineData("5m", 300)]
    [InlineData("1h", 3600)]
    [InlineData("1h30m", 5400)]
    [InlineData("1h0m5s", 3605)]
    [InlineData(" 10S ", 10)]
    public void Seconds_ReadsDurations(string text, long expected)
    {
        Assert.Equal(expected, Parsing.Seconds(text, "--timeout", out var error));
        Assert.Null(error);
    }

    [Theory]
    [InlineData("")]
    [InlineData("s")]
    [InlineData("10x")]
    [InlineData("-5")]
    [InlineData("1.5s")]
    [InlineData("5m1h")]
    [InlineData("99999999999999999999h")]
    public void Seconds_RefusesOtherText_NamingTheOption(string text)
    {
        Assert.Null(Parsing.Seconds(text, "--delay", out var error));
        Assert.StartsWith("--delay", error);
    }

    [Fact]
    public void Pairs_SplitAtTheFirstSeparator()
    {
        var pairs = Parsing.Pairs(["A=1", "B=x=y", "C="], "--env", '=', out var error);
        Assert.Null(error);
        Assert.Equal(new Dictionary<string, string> { ["A"] = "1", ["B"] = "x=y", ["C"] = "" }, pairs);
    }

    [Theory]
    [InlineData("novalue")]
    [InlineData("=value")]
    public void Pairs_RefuseItemsWithoutAKey(string item)
    {
        Assert.Null(Parsing.Pairs([item], "--label", '=', out var error));
        Assert.Contains("--label", error);
    }

    [Fact]
    public void StandardInputDash_IsMarked_OnlyBeforeTheCommandSeparator()
    {
        var args = Commands.MarkStandardInput(["task", "queue", "j", "--payload-file", "-", "--", "cat", "-"]);
        Assert.Equal(["task", "queue", "j", "--payload-file", Commands.StandardInput, "--", "cat", "-"], args);
    }
}

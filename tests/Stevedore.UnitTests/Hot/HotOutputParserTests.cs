using System.Text;
using Stevedore.Execution.Hot;

namespace Stevedore.UnitTests.Hot;

/// <summary>The hot protocol's response side: log bytes and frames out of standard output cut at any byte.</summary>
public class HotOutputParserTests
{
    private sealed class Sink : IHotFrameSink
    {
        public StringBuilder Log { get; } = new();
        public List<(bool Ok, string Body)> Responses { get; } = [];
        public List<string> Malformed { get; } = [];

        void IHotFrameSink.Log(ReadOnlySpan<byte> data) => Log.Append(Encoding.UTF8.GetString(data));
        public void Response(bool ok, ReadOnlyMemory<byte> body) => Responses.Add((ok, Encoding.UTF8.GetString(body.Span)));
        void IHotFrameSink.Malformed(string reason) => Malformed.Add(reason);
    }

    private static Sink Parse(string output, int chunk, int max = 100)
    {
        var sink = new Sink();
        var parser = new HotOutputParser(sink, max);
        var bytes = Encoding.UTF8.GetBytes(output);
        for (var i = 0; i < bytes.Length; i += chunk)
        {
            parser.Feed(bytes.AsSpan(i, Math.Min(chunk, bytes.Length - i)));
        }

        return sink;
    }

    // Each case is parsed whole and cut into pieces of 1, 2, 3 and 7 bytes: the answer must not depend on the cuts.
    [Theory]
    [InlineData("STEVEDORE-RESULT ok 5\nhello", "", "ok:hello")]
    [InlineData("working\nSTEVEDORE-RESULT ok 2\nhi", "working\n", "ok:hi")]
    [InlineData("STEVEDORE-RESULT error 4\nboom", "", "error:boom")]
    [InlineData("STEVEDORE-RESULT ok 0\n", "", "ok:")]
    [InlineData("STEVEDORE-RESULT ok 3\na\nb", "", "ok:a\nb")]
    [InlineData("STEVEDORE-RESULT ok 1\r\nx", "", "ok:x")]
    [InlineData("STEVE is not a frame\nSTEVEDORE-RESULTS neither\nS\n", "STEVE is not a frame\nSTEVEDORE-RESULTS neither\nS\n", "")]
    [InlineData("mid STEVEDORE-RESULT ok 1\nx", "mid STEVEDORE-RESULT ok 1\nx", "")]
    [InlineData("STEVEDORE-RESULT ok 2\nabSTEVEDORE-RESULT ok 1\nc", "", "ok:ab|ok:c")]
    [InlineData("STEVEDORE-RESULT ok 2\nab\nafter\n", "\nafter\n", "ok:ab")]
    public void Frames_AndLog_WhateverTheCuts(string output, string log, string responses)
    {
        foreach (var chunk in new[] { output.Length + 1, 1, 2, 3, 7 })
        {
            var sink = Parse(output, chunk);
            Assert.Equal(log, sink.Log.ToString());
            Assert.Equal(responses, string.Join('|', sink.Responses.Select(r => (r.Ok ? "ok:" : "error:") + r.Body)));
            Assert.Empty(sink.Malformed);
        }
    }

    [Theory]
    [InlineData("STEVEDORE-RESULT maybe 3\nabc", "neither ok nor error")]
    [InlineData("STEVEDORE-RESULT ok\n", "lacks the length")]
    [InlineData("STEVEDORE-RESULT ok -1\n", "not a whole number")]
    [InlineData("STEVEDORE-RESULT ok 1e3\n", "not a whole number")]
    [InlineData("STEVEDORE-RESULT ok 99999999999999999999\n", "not a whole number")]
    [InlineData("STEVEDORE-RESULT ok 101\n", "more than the 100")]
    [InlineData("STEVEDORE-RESULT ok  5\n", "not a whole number")]
    public void BadHeaders_AreMalformed_AndNothingMoreIsParsed(string output, string reason)
    {
        foreach (var chunk in new[] { output.Length, 1, 4 })
        {
            var sink = Parse(output + "\nlater log\nSTEVEDORE-RESULT ok 1\nx", chunk);
            Assert.Contains(reason, Assert.Single(sink.Malformed));
            Assert.Empty(sink.Responses);
            Assert.Equal("", sink.Log.ToString());
        }
    }

    [Fact]
    public void AnEndlessHeaderLine_IsMalformed_AtTheBound_NotBuffered()
    {
        var sink = Parse("STEVEDORE-RESULT ok " + new string('1', 10_000), 1000);
        Assert.Contains($"longer than {HotProtocol.MaxHeaderBytes} bytes", Assert.Single(sink.Malformed));
    }

    [Fact]
    public void AnEndlessLogLine_PassesThrough_WithoutBeingHeld()
    {
        var sink = new Sink();
        var parser = new HotOutputParser(sink, 100);
        parser.Feed(Encoding.UTF8.GetBytes(new string('x', 50_000)));
        Assert.Equal(50_000, sink.Log.Length);
    }

    [Fact]
    public void InvokeHeader_IsOneLine_WithIdAttemptAndLength()
    {
        Assert.Equal("STEVEDORE-INVOKE abc 2 17\n", Encoding.ASCII.GetString(HotProtocol.InvokeHeader("abc", 2, 17)));
    }
}

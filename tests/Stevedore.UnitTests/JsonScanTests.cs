using System.Text;
using Stevedore.Host.Apis;

namespace Stevedore.UnitTests;

/// <summary>The body scanner on whole bodies and on bodies that arrive in pieces.</summary>
public class JsonScanTests
{
    private static readonly JsonLimits s_batch = new(1 << 20) { ItemsProperty = "tasks", MaxItems = 3, MaxItemBytes = 20 };

    private static (JsonRefusal? Refusal, JsonScan Scan) Scan(byte[] body, JsonLimits limits, int piece = int.MaxValue)
    {
        var scan = new JsonScan(limits);
        for (var end = Math.Min(piece, body.Length); ; end = Math.Min(end + piece, body.Length))
        {
            if (scan.Feed(body.AsSpan(0, end), end == body.Length) is { } refusal)
            {
                return (refusal, scan);
            }

            if (end == body.Length)
            {
                return (null, scan);
            }
        }
    }

    [Theory]
    [InlineData("""{"a":1}""", null)]
    [InlineData("""{"a":"\ud83d\ude00 é"}""", null)]
    [InlineData("""{"a":"\ud800"}""", "escape that is not valid Unicode")]
    [InlineData("""{"\udc00":1}""", "field name at byte 1 holds an escape")]
    [InlineData("""[1]""", "must be a JSON object, not an array")]
    [InlineData("""  "x" """, "must be a JSON object, not a string")]
    [InlineData("""{"a":1}}""", "not valid JSON")]
    [InlineData("""{"a":""", "not valid JSON")]
    [InlineData("""{"a":1,}""", "not valid JSON")]
    [InlineData("""{"a":1} // no""", "not valid JSON")]
    public void Bodies(string json, string? refusal)
    {
        foreach (var piece in new[] { int.MaxValue, 1, 3 })
        {
            var (refused, _) = Scan(Encoding.UTF8.GetBytes(json), new JsonLimits(1 << 20), piece);
            if (refusal is null)
            {
                Assert.Null(refused);
            }
            else
            {
                Assert.Equal(400, refused?.Status);
                Assert.Contains(refusal, refused!.Detail);
            }
        }
    }

    [Theory]
    [InlineData(new byte[] { 0xFF })]
    [InlineData(new byte[] { 0xC0, 0xAF })]
    [InlineData(new byte[] { 0xED, 0xA0, 0x80 })]
    [InlineData(new byte[] { 0xE2, 0x82 })]
    public void InvalidUtf8_InAStringOrAName_IsRefused(byte[] bad)
    {
        foreach (var body in new[] { (byte[])[.. "{\"a\":\""u8, .. bad, .. "\"}"u8], [.. "{\""u8, .. bad, .. "\":1}"u8] })
        {
            var (refused, _) = Scan(body, s_batch, piece: 2);
            Assert.Contains("not valid UTF-8", refused?.Detail);
        }
    }

    [Fact]
    public void Nesting_PastTheLimit_IsRefused()
    {
        var deep = "{\"a\":" + new string('[', 64) + new string(']', 64) + "}";
        Assert.Contains("not valid JSON", Scan(Encoding.ASCII.GetBytes(deep), new JsonLimits(1 << 20)).Refusal?.Detail);
        var fine = "{\"a\":" + new string('[', 62) + new string(']', 62) + "}";
        Assert.Null(Scan(Encoding.ASCII.GetBytes(fine), new JsonLimits(1 << 20)).Refusal);
    }

    [Fact]
    public void Batch_ItemsAreCountedAndLocated_WhateverTheirKind()
    {
        var body = """{"x":1,"tasks":[{"payload":[1,{"a":2}]}, 7 ,"s"],"y":{"tasks":[1,2,3,4]}}"""u8.ToArray();
        foreach (var piece in new[] { int.MaxValue, 1, 5 })
        {
            var (refused, scan) = Scan(body, s_batch with { MaxItemBytes = 100 }, piece);
            Assert.Null(refused);
            Assert.True(scan.ItemsFound);
            Assert.Equal(["x", "y"], scan.OtherProperties);
            Assert.Equal(["{\"payload\":[1,{\"a\":2}]}", "7", "\"s\""], scan.Items.Select(i => Encoding.UTF8.GetString(body, i.Start, i.Length)));
        }
    }

    [Fact]
    public void Batch_RefusesItemFourBeforeTheRestArrives()
    {
        var scan = new JsonScan(s_batch);
        var start = "{\"tasks\":[{},{},{},{"u8.ToArray();
        var refusal = scan.Feed(start, final: false);
        Assert.Equal((400, "tasks"), (refusal?.Status, refusal?.Field));
    }

    [Theory]
    [InlineData("""{"tasks":[{"payload":"0123456789012345"}]}""", "tasks[0]")]
    [InlineData("""{"tasks":[1,"01234567890123456789"]}""", "tasks[1]")]
    public void Batch_AnItemOverItsLimit_Is413_NamingIt(string json, string field)
    {
        foreach (var piece in new[] { int.MaxValue, 4 })
        {
            var (refused, _) = Scan(Encoding.UTF8.GetBytes(json), s_batch, piece);
            Assert.Equal((413, field), (refused?.Status, refused?.Field));
        }
    }

    [Theory]
    [InlineData("""{"tasks":{}}""", "is required: an array, not an object")]
    [InlineData("""{"tasks":[],"tasks":[]}""", "is given twice")]
    public void Batch_WrongItemsProperty_Is400_OnTheField(string json, string detail)
    {
        var (refused, _) = Scan(Encoding.UTF8.GetBytes(json), s_batch);
        Assert.Equal(("tasks", detail), (refused?.Field, refused?.Detail));
    }
}

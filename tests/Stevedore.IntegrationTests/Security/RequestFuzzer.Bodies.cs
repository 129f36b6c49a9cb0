namespace Stevedore.IntegrationTests.Security;

/// <summary>The fuzzer's request bodies: mostly the fields each endpoint knows, with wrong, odd and huge values.</summary>
public sealed partial class RequestFuzzer
{
    private string JobBody() => Object(
        Chance(85) ? [$"\"image\":{(Chance(70) ? Quote(Pick(["127.0.0.1:1/none:latest", "127.0.0.1:1/none:latest", "stevedore/busybox:latest"])) : Value(2))}"] : [],
        Roll(5), s_jobFields, FieldValue);

    private string TaskBody() => Object([], Roll(4), s_taskFields, FieldValue);

    private string ScheduleBody() => Object([], Roll(5), s_scheduleFields, field => Chance(75) ? ScheduleValue(field) : Value(2));

    /// <summary>An object of the given fields and <paramref name="count"/> more, mostly known names (some repeated), their values from <paramref name="value"/>.</summary>
    private string Object(List<string> fields, int count, string[] known, Func<string, string> value)
    {
        for (var i = count; i > 0; i--)
        {
            var field = Chance(90) ? Pick(known) : Pick(s_strings);
            fields.Add($"{Quote(field)}:{value(field)}");
        }

        return "{" + string.Join(',', fields) + "}";
    }

    // Mostly rare occurrences: a schedule the fuzzer makes should not flood the host with tasks while it runs.
    private string ScheduleValue(string field) => field switch
    {
        "cron" => Quote(Pick(["0 3 * * *", "0 0 1 1 *", "* * * * *", "0 0 31 2 *", "61 * * * *", "a b c d e", "* * * * * * *", "", "*/0 * * * *", "0 0 0 * * *"])),
        "timeZone" => Quote(Pick(["UTC", "Europe/Berlin", "Mars/Olympus", "", "../../etc/passwd", "\u0000", "America/New_York\n"])),
        "everySeconds" => Pick(["3600", "86400", "0", "-1", "1e400", "0.5", "31622401", "9223372036854775808", "\"60\""]),
        "startAt" or "endAt" => Quote(Pick(["2020-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "not a date", "2024-02-30T00:00:00Z", "2030-01-01T00:00:00+25:00"])),
        "overlap" => Quote(Pick(["skip", "allow", "x", ""])),
        "payload" => Value(3),
        "labels" => FieldValue("labels"),
        _ => Pick(s_numbers),
    };

    private string WebhookBody() => Roll(4) switch
    {
        0 => "{}",
        1 => AnyJson(2),
        _ => "{\"headers\":[" + string.Join(',', Enumerable.Range(0, Roll(20)).Select(_ =>
            Quote(Pick(["X-Request-Id", "Authorization", "X-Stevedore-Token", "Content-Type", "a b", "X-\u00e9", "", "X-Ok", new string('h', 100)])))) + "]}",
    };

    private string BatchBody() => Roll(10) switch
    {
        0 => "{\"tasks\":[" + string.Join(',', Enumerable.Repeat("0", 1001 + Roll(3000))) + "]}",
        1 => "{\"tasks\":" + Value(3) + "}",
        2 => "{\"tasks\":[],\"tasks\":[{}]," + Quote(Pick(s_strings)) + ":1}",
        _ => "{\"tasks\":[" + string.Join(',', Enumerable.Range(0, Roll(20)).Select(_ => Chance(80) ? TaskBody() : Value(2))) + "]}",
    };

    private string FieldValue(string field) => Chance(70) ? field switch
    {
        "image" => Quote(Pick(["127.0.0.1:1/none:latest", "busybox\\n", "UPPER/case", "stevedore/busybox:latest"])),
        "command" or "subscriptions" or "capabilities" => "[" + string.Join(',', Enumerable.Range(0, Roll(4)).Select(_ => Quote(Pick(s_strings)))) + "]",
        "env" or "labels" => "{" + string.Join(',', Enumerable.Range(0, Roll(4)).Select(_ => $"{Quote(Pick(s_strings))}:{Quote(Pick(s_strings))}")) + "}",
        "user" => Quote(Pick(["1000", "1000:1000", "nobody", "root", "0", "1000\\n", "-1", "4294967296", "a:b:c", ""])),
        "readOnlyRootFilesystem" => Pick(["true", "false", "1", "\"true\""]),
        "network" => Quote(Pick(["bridge", "none", "host", "container:x"])),
        "payload" => Value(4),
        "idempotencyKey" => Quote(Pick(s_strings)),
        _ => Pick(s_numbers),
    } : Value(3);

    private string Value(int depth) => Roll(depth <= 0 ? 4 : 7) switch
    {
        0 => Quote(Pick(s_strings)),
        1 => Pick(s_numbers),
        2 => Pick(["true", "false", "null"]),
        3 => Quote(string.Concat(Enumerable.Repeat(Pick(["a", "\\u00e9", "\\ud800", "\\ud83d\\ude00"]), Roll(3) == 0 ? 70_000 : Roll(100)))),
        4 => "[" + string.Join(',', Enumerable.Range(0, Roll(5)).Select(_ => Value(depth - 1))) + "]",
        5 => "{" + string.Join(',', Enumerable.Range(0, Roll(5)).Select(_ => $"{Quote(Pick(s_strings))}:{Value(depth - 1)}")) + "}",
        _ => Chance(20) ? DeepNesting() : AnyJson(depth - 1),
    };

    private string AnyJson(int depth) => "{" + Quote(Pick(s_strings)) + ":" + Value(depth) + "}";

    private string DeepNesting()
    {
        var depth = Pick([30, 63, 64, 65, 100, 1000, 20_000]);
        var open = Chance(50) ? "[" : "{\"a\":";
        var close = open == "[" ? "]" : "}";
        return "{\"payload\":" + string.Concat(Enumerable.Repeat(open, depth)) + "1" + string.Concat(Enumerable.Repeat(close, Chance(80) ? depth : depth / 2)) + "}";
    }
}

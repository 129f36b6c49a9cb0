using System.Globalization;
using System.Text;

namespace Stevedore.IntegrationTests.Security;

/// <summary>
/// One generated request: a readable summary, its bytes, whether the client hangs up its sending side after them (a
/// body shorter than declared), and whether it speaks HTTP/1.0 or 1.1 (Kestrel answers other versions with 505, the
/// one 5xx that is the protocol's own word for a client's mistake).
/// </summary>
public sealed record FuzzRequest(string Summary, byte[] Bytes, bool CloseSending, bool KnownVersion);

/// <summary>Triggers that exist on the host, so that requests also reach them: a topic jobs take, a schedule, a webhook and its secret.</summary>
public sealed record FuzzTriggers(string Topic, string ScheduleId, string HookId, string HookSecret);

/// <summary>
/// Seeded random requests against every endpoint, mostly malformed: wrong methods, odd paths and query strings, wrong
/// and missing content types, odd and oversized headers, bodies with wrong types, huge numbers, deep nesting, invalid
/// UTF-8, lone surrogates, truncated or shorter than declared; webhook calls with right and wrong secrets and signatures.
/// The same seed and the same known names give the same requests.
/// </summary>
public sealed partial class RequestFuzzer(int seed, string host, IReadOnlyList<string> jobs, FuzzTriggers triggers, Func<IReadOnlyList<string>> taskIds)
{
    private static readonly string[] s_methods = ["GET", "GET", "GET", "POST", "POST", "POST", "PUT", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "FOO", "get", "CONNECT"];

    private static readonly string[] s_oddSegments =
    [
        "x%0A", "x%0D%0A", "%2e%2e", "..", "%FF%FE", "%C0%AF", "%C3%A9t%C3%A9", "UPPER", "a%20b", "a%2Fb", "%2F", "-a", "_", "a.b",
        new string('a', 64), new string('b', 300), "%F0%9F%92%A9", "%ED%A0%80", "%25", "%", "%zz", "a;b", "a,b", "~", "%09", "0123456789abcdef0123456789abcdef",
    ];

    private static readonly string[] s_strings =
    [
        "", " ", "a", "busybox", "stevedore/busybox:latest", "127.0.0.1:1/none:latest", "\\ud800", "\\udc00", "\\ud83d\\ude00", "\\u0000",
        "x\\n", "\\t\\r\\n", "é", "✓", "💩", "\\\\", "\\\"", "bridge", "none", "host", "stdout", "true", "null", "-1", "1e999",
        "0123456789abcdef0123456789abcdef", "STEVEDORE_X", "a:b", "%00", "<script>", "' OR 1=1 --", "${HOME}", "$(id)",
    ];

    private static readonly string[] s_numbers =
    [
        "0", "1", "-1", "2", "3", "7", "0.5", "-0", "1e400", "-1e400", "1e-400", "123456789012345678901234567890", "9223372036854775808",
        "-9223372036854775809", "4294967296", "86400", "86401", "604801", "65536", "6", "0.01", "64.0000001", "1E2", "1.0",
    ];

    private static readonly string[] s_contentTypes =
    [
        "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/json; charset=utf-16",
        "application/json; charset=\"", "application/", "/", ";;;", "application/json, text/plain", "application/problem+json",
        "application/jsonx", "text/json", "*/*", "application/json; charset=latin1", "APPLICATION/JSON",
    ];

    private static readonly string[] s_jobFields =
        ["image", "command", "env", "timeoutSeconds", "memoryMb", "cpus", "maxConcurrency", "retries", "retryDelaySeconds", "retryBackoff", "network", "priority", "subscriptions", "maxQueued",
         "capabilities", "user", "readOnlyRootFilesystem", "name", "version", "paused"];

    private static readonly string[] s_taskFields = ["payload", "priority", "delaySeconds", "timeoutSeconds", "idempotencyKey", "labels"];

    private static readonly string[] s_scheduleFields = ["cron", "timeZone", "everySeconds", "startAt", "endAt", "maxRuns", "payload", "priority", "labels", "overlap"];

    private readonly Random _random = new(seed);

    public FuzzRequest Next()
    {
        var (method, path, body) = Target();
        if (Chance(20))
        {
            method = Pick(s_methods);
        }

        var summary = new StringBuilder($"{method} {Shorten(path)}");
        var headers = new List<string>();
        var bodyBytes = body is null ? [] : Encoding.UTF8.GetBytes(body);
        bodyBytes = MutateBytes(bodyBytes, summary);

        headers.Add(Chance(95) ? $"Host: {host}" : $"Host: {Pick(["evil.example", "127.0.0.1", "localhost:1", "", "[::1]", host + "." , "a b", new string('h', 300)])}");
        if (Chance(75))
        {
            headers.Add("Content-Type: application/json");
        }
        else if (Chance(70))
        {
            var type = Pick(s_contentTypes);
            headers.Add($"Content-Type: {type}");
            summary.Append($" [type {type}]");
        }

        var closeSending = false;
        var length = Roll(100);
        if (length < 80)
        {
            headers.Add($"Content-Length: {bodyBytes.Length}");
        }
        else if (length < 88 && bodyBytes.Length > 0)
        {
            // Shorter than declared: the client stops sending.
            var declared = bodyBytes.Length + 1 + Roll(1000);
            headers.Add($"Content-Length: {declared}");
            closeSending = true;
            summary.Append($" [declared {declared}, sent {bodyBytes.Length}]");
        }
        else if (length < 94)
        {
            headers.Add("Transfer-Encoding: chunked");
            (bodyBytes, var complete) = Chunked(bodyBytes, summary);
            closeSending = !complete;
        }
        else if (length < 97)
        {
            headers.Add($"Content-Length: {Pick(["abc", "-1", "99999999999999999999", $"{bodyBytes.Length}, {bodyBytes.Length}", " "])}");
            summary.Append(" [bad Content-Length]");
        }
        else
        {
            headers.Add($"Content-Length: {bodyBytes.Length}");
            headers.Add($"Content-Length: {bodyBytes.Length + 1}");
            summary.Append(" [two Content-Length]");
        }

        OddHeaders(headers, summary);
        if (path.StartsWith("/v1/hooks/", StringComparison.Ordinal))
        {
            HookHeaders(headers, summary);
        }

        headers.Add("Connection: close");
        var requestLine = $"{method} {path} HTTP/1.1";
        if (Chance(2))
        {
            requestLine = Pick(["GET  HTTP/1.1", "GET /v1/jobs HTTP/9.9", "GET /v1/jobs", "\u0001 / HTTP/1.1", $"{method} {path} HTTP/1.0", $"{method} {path} HTTP/2.0"]);
            summary.Insert(0, $"[request line '{Shorten(requestLine)}'] ");
        }

        return new FuzzRequest(summary.ToString(), RawHttp.Request(requestLine, headers, bodyBytes), closeSending, requestLine.EndsWith(" HTTP/1.1", StringComparison.Ordinal) || requestLine.EndsWith(" HTTP/1.0", StringComparison.Ordinal));
    }

    /// <summary>An endpoint with its usual method (the caller sometimes swaps it), a path and a body.</summary>
    private (string Method, string Path, string? Body) Target()
    {
        var job = JobSegment();
        var id = TaskSegment();
        return Roll(27) switch
        {
            0 or 1 => ("PUT", $"/v1/jobs/{job}", JobBody()),
            2 => (Pick(["GET", "DELETE"]), $"/v1/jobs/{job}", Chance(30) ? JobBody() : null),
            3 => ("GET", "/v1/jobs" + Query([]), null),
            4 => (Pick(["POST", "GET"]), $"/v1/jobs/{job}/{Pick(["pause", "resume", "stats", "nothing", "pause/", "webhooks"])}", Chance(20) ? AnyJson(2) : null),
            5 or 6 or 7 => ("POST", $"/v1/jobs/{job}/tasks" + Query(["wait"]), Chance(15) ? null : TaskBody()),
            8 or 9 => ("POST", $"/v1/jobs/{job}/tasks:batch", BatchBody()),
            10 => ("POST", $"/v1/jobs/{job}/tasks%3Abatch", BatchBody()),
            11 or 12 => ("GET", "/v1/tasks" + Query(["job", "status", "label", "limit", "cursor"]), null),
            13 => (Pick(["GET", "DELETE"]), $"/v1/tasks/{id}", Chance(10) ? AnyJson(2) : null),
            14 => ("GET", $"/v1/tasks/{id}/log" + Query(["stream", "follow"]), null),
            15 => ("GET", $"/v1/tasks/{id}/result", null),
            16 => ("POST", $"/v1/tasks/{id}/{Pick(["cancel", "retry", "cancel/", "log/x", "attempts"])}", Chance(20) ? AnyJson(2) : null),
            17 => ("GET", Pick(["/healthz", "/healthz?x=%FF", "/metrics", "/", "/v1", "/v1/", "/v2/jobs", "/dashboard/", "/dashboard/nothing", "/console", "/openapi/v1.json"]), null),
            18 => (Pick(s_methods), "/" + string.Join('/', Enumerable.Range(0, 1 + Roll(6)).Select(_ => Pick(s_oddSegments))), Chance(30) ? AnyJson(3) : null),
            19 => ("POST", $"/v1/jobs/{job}/tasks", DeepNesting()),
            21 or 22 => ("POST", $"/v1/jobs/{job}/schedules", Chance(10) ? DeepNesting() : ScheduleBody()),
            23 => (Pick(["GET", "GET", "DELETE", "POST"]), $"/v1/schedules/{Known(triggers.ScheduleId)}{Pick(["", "", "/pause", "/resume", "/x"])}", Chance(20) ? AnyJson(2) : null),
            24 => ("GET", "/v1/schedules" + Query(["job"]), null),
            25 => (Pick(["POST", "POST", "GET", "DELETE"]), $"/v1/jobs/{job}/webhooks{(Chance(70) ? "" : "/" + Known(triggers.HookId))}", Chance(80) ? WebhookBody() : null),
            26 => Chance(50)
                ? ("POST", $"/v1/hooks/{Known(triggers.HookId)}{(Chance(90) ? "" : "/x")}", Chance(20) ? null : Value(3))
                : ("POST", $"/v1/events/{(Chance(60) ? triggers.Topic : JobSegment())}", Chance(10) ? null : Value(3)),
            _ => ("POST", $"/v1/jobs/{job}/tasks?{Pick(["wait=5", "wait=-1", "wait=99999999999", "%00", "a=%FF", new string('q', 3000) + "=1"])}", TaskBody()),
        };
    }

    private string JobSegment() => Roll(10) switch
    {
        < 6 => Pick(jobs),
        < 8 => "fz-" + Roll(1000).ToString(CultureInfo.InvariantCulture),
        _ => Pick(s_oddSegments),
    };

    /// <summary>The known id most of the time, else a random or odd one.</summary>
    private string Known(string id) => Roll(10) switch
    {
        < 6 => id,
        < 8 => string.Concat(Enumerable.Range(0, id.Length).Select(_ => "0123456789abcdef"[Roll(16)])),
        _ => Pick(s_oddSegments),
    };

    private string TaskSegment()
    {
        var known = taskIds();
        return Roll(10) switch
        {
            < 5 when known.Count > 0 => known[Roll(known.Count)],
            < 7 => string.Concat(Enumerable.Range(0, 32).Select(_ => "0123456789abcdef"[Roll(16)])),
            _ => Pick(s_oddSegments),
        };
    }

    private string Query(string[] known)
    {
        if (Chance(40))
        {
            return "";
        }

        var parts = new List<string>();
        for (var i = Roll(4); i >= 0; i--)
        {
            var key = known.Length > 0 && Chance(80) ? Pick(known) : Pick(["x", "%FF", "%00", "", "job%0A", new string('k', 500)]);
            var value = key switch
            {
                "follow" => Chance(15) ? "true" : Pick(["false", "maybe", "", "1"]),
                "stream" => Pick(["stdout", "stderr", "both", "%00", ""]),
                "status" => Pick(["queued", "running", "succeeded", "failed", "timed_out", "cancelled", "QUEUED", "%FF"]),
                "limit" or "wait" => Pick(s_numbers),
                "job" => JobSegment(),
                "cursor" => TaskSegment(),
                "label" => Pick(["a:b", "a", ":", "a:", "%00:%00", "a%0A:b", "team:x"]),
                _ => Pick(s_oddSegments),
            };
            parts.Add($"{key}={value}");
        }

        return "?" + string.Join('&', parts);
    }

    private void HookHeaders(List<string> headers, StringBuilder summary)
    {
        switch (Roll(5))
        {
            case 0 or 1:
                headers.Add($"X-Stevedore-Token: {(Chance(70) ? triggers.HookSecret : Pick(["", "x", triggers.HookSecret + "x", new string('s', 5000)]))}");
                summary.Append(" [hook token]");
                break;
            case 2:
                var hex = string.Concat(Enumerable.Range(0, 64).Select(_ => "0123456789abcdef"[Roll(16)]));
                headers.Add($"X-Stevedore-Signature: {Pick(["sha256=" + hex, "sha256=", "md5=" + hex, hex, "sha256=zz"])}");
                summary.Append(" [hook signature]");
                break;
        }

        if (Chance(20))
        {
            headers.Add($"Idempotency-Key: {Pick(["k1", "", "k\u00e9", new string('k', 2000)])}");
        }
    }

    private byte[] MutateBytes(byte[] body, StringBuilder summary)
    {
        switch (Roll(12))
        {
            case 0 when body.Length > 0:
                var cut = Roll(body.Length);
                summary.Append($" [truncated at {cut}]");
                return body[..cut];
            case 1:
                var at = body.Length == 0 ? 0 : Roll(body.Length);
                var bad = Pick<byte[]>([[0xFF], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF8, 0x88, 0x80, 0x80, 0x80], [0xC3], [0x00], [0xEF, 0xBB, 0xBF]]);
                summary.Append($" [bytes {Convert.ToHexString(bad)} at {at}]");
                return [.. body[..at], .. bad, .. body[at..]];
            case 2:
                var noise = new byte[Roll(2000)];
                _random.NextBytes(noise);
                summary.Append($" [{noise.Length} random bytes]");
                return noise;
            case 3:
                summary.Append(" [empty body]");
                return [];
            default:
                summary.Append($" [{body.Length} bytes]");
                return body;
        }
    }

    /// <summary>The body in chunks, and whether it ends as it should (else the client stops sending).</summary>
    private (byte[] Body, bool Complete) Chunked(byte[] body, StringBuilder summary)
    {
        var output = new List<byte>();
        for (var i = 0; i < body.Length;)
        {
            var size = Math.Min(body.Length - i, 1 + Roll(4096));
            output.AddRange(Encoding.ASCII.GetBytes($"{size:x}\r\n"));
            output.AddRange(body.AsSpan(i, size).ToArray());
            output.AddRange("\r\n"u8.ToArray());
            i += size;
        }

        var ending = Roll(10) switch
        {
            0 => "zz\r\n\r\n",
            1 => "",
            2 => "ffffffffffffffff\r\nabc\r\n",
            _ => "0\r\n\r\n",
        };
        summary.Append($" [chunked, ends {ending.Replace("\r\n", "\\r\\n", StringComparison.Ordinal)}]");
        output.AddRange(Encoding.ASCII.GetBytes(ending));
        return ([.. output], ending == "0\r\n\r\n");
    }

    private void OddHeaders(List<string> headers, StringBuilder summary)
    {
        void Add(string header)
        {
            headers.Add(header);
            summary.Append($" [{Shorten(header)}]");
        }

        if (Chance(6)) Add($"Origin: {Pick(["http://evil.example", "null", $"http://{host}", "https://" + host, "", "http://localhost:1"])}");
        if (Chance(6)) Add($"Sec-Fetch-Site: {Pick(["cross-site", "same-site", "same-origin", "none", "", "x"])}");
        if (Chance(3)) Add($"Authorization: {Pick(["Bearer x", "Bearer ", "Basic Zm9vOmJhcg==", new string('b', 5000)])}");
        if (Chance(2)) Add($"X-Big: {new string('x', 40_000)}");
        if (Chance(2)) headers.Add(string.Concat(Enumerable.Range(0, 150).Select(i => $"X-{i}: {i}\r\n")).TrimEnd());
        if (Chance(2)) Add("X-Latin: caf\u00e9\u00ff");
        if (Chance(2)) Add("Expect: 100-continue");
        if (Chance(2)) Add(Pick(["Bad Header: x", ": empty", "NoColon", "X-Ctl: a\u0001b"]));
        if (Chance(2)) Add($"Accept: {Pick(["text/event-stream", "*/*", "application/xml", ";;"])}");
    }

    private static string Quote(string jsonEscapedText) => "\"" + jsonEscapedText + "\"";

    private static string Shorten(string text) => text.Length <= 120 ? text : text[..117] + "...";

    private int Roll(int n) => _random.Next(n);

    private bool Chance(int percent) => _random.Next(100) < percent;

    private T Pick<T>(IReadOnlyList<T> items) => items[_random.Next(items.Count)];
}

using System.Globalization;
using System.Text;

namespace Stevedore.Host.WebConsole;

/// <summary>A bounded look at some bytes: text when they are UTF-8, else a hex dump of the start.</summary>
public sealed record Preview(string Text, bool IsText, bool Truncated, long Length);

/// <summary>How the console writes times, durations, sizes, statuses and content. Pure, so its cases are tested directly.</summary>
public static class ConsoleFormat
{
    public const int PreviewBytes = 4096;

    public static string Time(DateTimeOffset? at) =>
        at is { } t ? t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) + " UTC" : "–";

    /// <summary>The machine-readable form for a <c>&lt;time datetime&gt;</c> attribute.</summary>
    public static string Iso(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);

    public static string Duration(TimeSpan span) => span.TotalSeconds switch
    {
        < 0 => "–",
        < 1 => $"{span.TotalMilliseconds:0} ms",
        < 60 => $"{span.TotalSeconds:0.0} s",
        < 3600 => $"{(int)span.TotalMinutes} min {span.Seconds} s",
        < 86400 => $"{(int)span.TotalHours} h {span.Minutes} min",
        _ => $"{(int)span.TotalDays} d {span.Hours} h",
    };

    public static string Duration(DateTimeOffset? start, DateTimeOffset? end) =>
        start is { } s && end is { } e ? Duration(e - s) : "–";

    public static string Bytes(long bytes) => bytes switch
    {
        < 1024 => $"{bytes} B",
        < 1024 * 1024 => $"{bytes / 1024.0:0.#} KiB",
        _ => $"{bytes / (1024.0 * 1024):0.#} MiB",
    };

    /// <summary>A status as a word with a mark, so it reads without colour.</summary>
    public static string Mark(TaskRunStatus status) => status switch
    {
        TaskRunStatus.Queued => "◷",
        TaskRunStatus.Running => "▶",
        TaskRunStatus.Succeeded => "✓",
        TaskRunStatus.Failed => "✗",
        TaskRunStatus.TimedOut => "⚠",
        _ => "⊘",
    };

    public static Preview Preview(ReadOnlyMemory<byte> bytes, int max = PreviewBytes)
    {
        var span = bytes.Span;
        var cut = Math.Min(span.Length, max);
        // Do not cut a UTF-8 sequence in two: back up to the start of the character at the cut.
        while (cut < span.Length && cut > 0 && (span[cut] & 0xC0) == 0x80)
        {
            cut--;
        }

        if (System.Text.Unicode.Utf8.IsValid(span[..cut]))
        {
            return new Preview(Encoding.UTF8.GetString(span[..cut]), IsText: true, cut < span.Length, span.Length);
        }

        var head = span[..Math.Min(span.Length, 256)];
        var hex = new StringBuilder();
        for (var i = 0; i < head.Length; i += 16)
        {
            var row = head.Slice(i, Math.Min(16, head.Length - i));
            hex.Append(CultureInfo.InvariantCulture, $"{i:x4}  ").AppendJoin(' ', row.ToArray().Select(b => b.ToString("x2", CultureInfo.InvariantCulture))).Append('\n');
        }

        return new Preview(hex.ToString(), IsText: false, head.Length < span.Length, span.Length);
    }

    /// <summary>Text typed into a form as the bytes a job gets: UTF-8, with the browser's CRLF line ends made LF.</summary>
    public static byte[] TextBytes(string? text) => Encoding.UTF8.GetBytes((text ?? "").Replace("\r\n", "\n", StringComparison.Ordinal));

    /// <summary>Reads <c>key=value</c> lines (blank lines skipped) into a map; a line without '=' is an error for that line.</summary>
    public static Dictionary<string, string>? KeyValueLines(string? text, string field, Stevedore.Application.FieldErrors errors)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        var number = 0;
        foreach (var raw in text.Split('\n'))
        {
            number++;
            var line = raw.TrimEnd('\r');
            if (line.Trim().Length == 0)
            {
                continue;
            }

            var eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                errors.Add(field, $"line {number} is not key=value");
                continue;
            }

            map[line[..eq].Trim()] = line[(eq + 1)..];
        }

        return map;
    }

    /// <summary>An optional whole number typed into a form; anything else is an error naming the field.</summary>
    public static long? Number(string? text, string field, Stevedore.Application.FieldErrors errors)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        if (long.TryParse(text.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            return value;
        }

        errors.Add(field, $"'{text}' is not a whole number");
        return null;
    }
}

using System.Globalization;
using System.Security.Cryptography;

namespace Stevedore;

/// <summary>
/// Task ids: 32 lowercase hex digits. The first 16 are a millisecond clock with a sequence, so ids sort by creation
/// time (also within one millisecond, one process); the last 16 are random, so silos never collide and the
/// partition derived from them is uniform.
/// </summary>
public static class TaskIds
{
    private static long s_last;

    public static string New(DateTimeOffset now)
    {
        var stamp = now.ToUnixTimeMilliseconds() << 16;
        long value;
        long last;
        do
        {
            last = Interlocked.Read(ref s_last);
            value = Math.Max(stamp, last + 1);
        }
        while (Interlocked.CompareExchange(ref s_last, value, last) != last);

        Span<byte> random = stackalloc byte[8];
        RandomNumberGenerator.Fill(random);
        return string.Create(32, (value, BitConverter.ToUInt64(random)), static (span, state) =>
        {
            state.value.TryFormat(span[..16], out _, "x16", CultureInfo.InvariantCulture);
            state.Item2.TryFormat(span[16..], out _, "x16", CultureInfo.InvariantCulture);
        });
    }

    public static bool IsValid(string? id) =>
        id is { Length: 32 } && id.All(c => c is >= '0' and <= '9' or >= 'a' and <= 'f');

    /// <summary>When the task with this (valid) id was created, to the millisecond.</summary>
    public static DateTimeOffset CreatedAt(string id) =>
        DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(id.AsSpan(0, 16), NumberStyles.HexNumber, CultureInfo.InvariantCulture) >> 16);

    public static int PartitionOf(string id, int partitions) =>
        (int)(ulong.Parse(id.AsSpan(24, 8), NumberStyles.HexNumber, CultureInfo.InvariantCulture) % (ulong)partitions);
}

using System.Collections;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Stevedore.Host.Grpc;

namespace Stevedore.IntegrationTests.Security;

/// <summary>
/// Seeded random gRPC requests for every method of the API: a third are random bytes (no valid message at all), the
/// rest messages of the method's type whose fields get hostile values — empty, huge, negative, NUL and control
/// characters, undefined enum values, deep and long lists and maps, names of jobs, schedules, webhooks and tasks that
/// exist. Images are ones that fail at once, so no task reaches for a registry on the internet.
/// </summary>
public sealed class GrpcFuzzer(int seed, IReadOnlyList<string> names)
{
    private static readonly string[] s_strings =
    [
        "", " ", "a", "A", "-", "..", "../../etc/passwd", "x\0y", "\u0001\u001f", "é✓😀", "\uFFFD", "$(id)", "'; DROP TABLE x; --",
        "*/5 * * * *", "@every 1s", "0 0 31 2 *", "60 * * * *", "2026-11-28T00:00:00Z", "not-a-time", "-1", "NaN",
        "key=value", "k", "TRACEPARENT", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", new string('x', 300),
    ];

    private static readonly string[] s_images = ["", "127.0.0.1:1/none:latest", "UPPER/Case", "a b", "x\0y", new string('i', 300)];

    private readonly Random _random = new(seed);

    /// <summary>The next request: a method and the bytes of its request message (valid or not).</summary>
    public (MethodDescriptor Method, byte[] Body, string Summary) Next()
    {
        var method = GrpcEndpoints.ApiMethods[_random.Next(GrpcEndpoints.ApiMethods.Count)];
        if (_random.Next(3) == 0)
        {
            var bytes = new byte[_random.Next(0, 64)];
            _random.NextBytes(bytes);
            return (method, bytes, $"{method.FullName} with {bytes.Length} random bytes");
        }

        var message = Fill(method.InputType, depth: 0);
        return (method, message.ToByteArray(), $"{method.FullName} {Summarize(message)}");
    }

    private static string Summarize(IMessage message)
    {
        var text = message.ToString() ?? "";
        return text.Length <= 500 ? text : text[..500] + "…";
    }

    private IMessage Fill(MessageDescriptor type, int depth)
    {
        var message = (IMessage)Activator.CreateInstance(type.ClrType)!;
        foreach (var field in type.Fields.InFieldNumberOrder())
        {
            if (_random.Next(10) < 3)
            {
                continue;
            }

            if (field.IsMap)
            {
                var map = (IDictionary)field.Accessor.GetValue(message);
                var key = field.MessageType.FindFieldByNumber(1);
                var value = field.MessageType.FindFieldByNumber(2);
                for (var i = _random.Next(0, depth > 1 ? 2 : 6); i > 0; i--)
                {
                    map[Value(key, depth)] = Value(value, depth);
                }
            }
            else if (field.IsRepeated)
            {
                var list = (IList)field.Accessor.GetValue(message);
                for (var i = _random.Next(0, _random.Next(20) == 0 ? 1200 : 6); i > 0; i--)
                {
                    list.Add(Value(field, depth));
                }
            }
            else
            {
                field.Accessor.SetValue(message, Value(field, depth));
            }
        }

        return message;
    }

    private object Value(FieldDescriptor field, int depth) => field.FieldType switch
    {
        FieldType.String => String(field.Name),
        FieldType.Bytes => Bytes(),
        FieldType.Bool => _random.Next(2) == 0,
        FieldType.Int32 or FieldType.SInt32 or FieldType.SFixed32 => Pick(0, 1, -1, 2, 60, 3600, int.MaxValue, int.MinValue, _random.Next()),
        FieldType.UInt32 or FieldType.Fixed32 => (uint)Pick(0, 1, 2, 60, int.MaxValue, _random.Next()) | (_random.Next(4) == 0 ? 0x8000_0000u : 0),
        FieldType.Int64 or FieldType.SInt64 or FieldType.SFixed64 => Pick(0L, 1L, -1L, 60L, long.MaxValue, long.MinValue, _random.NextInt64()),
        FieldType.UInt64 or FieldType.Fixed64 => (ulong)Pick(0L, 1L, long.MaxValue, _random.NextInt64()) * (ulong)_random.Next(1, 3),
        FieldType.Double => Pick(0d, -1d, 0.5, double.NaN, double.PositiveInfinity, double.MaxValue),
        FieldType.Float => Pick(0f, -1f, float.NaN, float.MaxValue),
        FieldType.Enum => Enum.ToObject(field.EnumType.ClrType, Pick(0, 1, 2, 3, 7, 99, -1, int.MaxValue)),
        FieldType.Message => depth < 3 ? Fill(field.MessageType, depth + 1) : Activator.CreateInstance(field.MessageType.ClrType)!,
        _ => throw new NotSupportedException($"field type {field.FieldType} of {field.FullName}"),
    };

    private string String(string field)
    {
        if (field == "image")
        {
            return Pick(s_images);
        }

        // Names that exist make the request reach further than its validation.
        return _random.Next(3) == 0 && names.Count > 0 ? names[_random.Next(names.Count)] : Pick(s_strings);
    }

    private ByteString Bytes()
    {
        var bytes = new byte[Pick(0, 1, 16, 300, 70_000)];
        _random.NextBytes(bytes);
        return ByteString.CopyFrom(bytes);
    }

    private T Pick<T>(params T[] choices) => choices[_random.Next(choices.Length)];
}

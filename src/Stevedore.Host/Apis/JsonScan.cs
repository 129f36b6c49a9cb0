using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Stevedore.Host.Apis;

/// <summary>What a JSON body may hold: its size and, for a batch, the array whose items are counted as they arrive.</summary>
public sealed record JsonLimits(long MaxBytes)
{
    /// <summary>The root property holding the items (e.g. <c>tasks</c>); null for a body without items.</summary>
    public string? ItemsProperty { get; init; }
    public int MaxItems { get; init; }
    public long MaxItemBytes { get; init; }
}

/// <summary>Why a body is refused: 400 (with the field when one is at fault) or 413.</summary>
public sealed record JsonRefusal(int Status, string Detail, string? Field = null);

/// <summary>
/// Checks a JSON body while it arrives, before anything is built from it: well-formed, at most 64 deep, a JSON object
/// at the root, every string valid UTF-8 and every escape valid Unicode (no lone surrogates); and, with
/// <see cref="JsonLimits.ItemsProperty"/>, counts the items of that array and measures each, so a batch of a million
/// elements is refused at element 1001 instead of being parsed. Pure: feed it the bytes received so far.
/// </summary>
public sealed class JsonScan(JsonLimits limits)
{
    public const int MaxDepth = 64;

    private static readonly JsonReaderOptions s_options = new() { MaxDepth = MaxDepth };

    private readonly List<(int Start, int Length)> _items = [];
    private readonly List<string> _otherProperties = [];
    private JsonReaderState _state = new(s_options);
    private int _consumed;
    private bool _rootChecked;
    private bool _expectItems;
    private bool _inItems;
    private int _itemStart = -1;

    /// <summary>Byte ranges of the items, in order.</summary>
    public IReadOnlyList<(int Start, int Length)> Items => _items;

    /// <summary>True when the items property was there and held an array.</summary>
    public bool ItemsFound { get; private set; }

    /// <summary>Root property names other than the items property (the first few).</summary>
    public IReadOnlyList<string> OtherProperties => _otherProperties;

    /// <summary>
    /// Scans what arrived since the last call. <paramref name="received"/> is the whole body so far; <paramref name="final"/>
    /// says nothing more comes. Returns the refusal, or null to go on.
    /// </summary>
    public JsonRefusal? Feed(ReadOnlySpan<byte> received, bool final)
    {
        var reader = new Utf8JsonReader(received[_consumed..], final, _state);
        try
        {
            while (reader.Read())
            {
                if (Token(ref reader, _consumed + (int)reader.TokenStartIndex, _consumed + (int)reader.BytesConsumed) is { } refusal)
                {
                    return refusal;
                }
            }
        }
        catch (JsonException ex)
        {
            return Body($"the request body is not valid JSON: {ex.Message}");
        }

        _consumed += (int)reader.BytesConsumed;
        _state = reader.CurrentState;
        if (_itemStart >= 0 && received.Length - _itemStart > limits.MaxItemBytes)
        {
            return ItemTooLarge();
        }

        return null;
    }

    private JsonRefusal? Token(ref Utf8JsonReader reader, int start, int end)
    {
        var type = reader.TokenType;
        if (!_rootChecked)
        {
            _rootChecked = true;
            if (type != JsonTokenType.StartObject)
            {
                return Body($"the request body must be a JSON object, not {Kind(type)}");
            }
        }

        if (type is JsonTokenType.String or JsonTokenType.PropertyName && !System.Text.Unicode.Utf8.IsValid(reader.ValueSpan))
        {
            // Outside strings the reader itself allows nothing but ASCII.
            return Body($"the request body is not valid UTF-8 (a {(type == JsonTokenType.String ? "string" : "field name")} at byte {start}); send UTF-8 text");
        }

        if (type is JsonTokenType.String or JsonTokenType.PropertyName && reader.ValueIsEscaped && !UnescapesCleanly(ref reader))
        {
            return Body($"the {(type == JsonTokenType.String ? "string" : "field name")} at byte {start} holds an escape that is not valid Unicode " +
                "(a \\uD800–\\uDFFF surrogate without its pair); send valid text");
        }

        if (limits.ItemsProperty is not { } itemsProperty)
        {
            return null;
        }

        var depth = reader.CurrentDepth;
        if (_expectItems && depth == 1)
        {
            _expectItems = false;
            if (type != JsonTokenType.StartArray)
            {
                return new JsonRefusal(StatusCodes.Status400BadRequest, $"is required: an array, not {Kind(type)}", itemsProperty);
            }

            _inItems = true;
            ItemsFound = true;
            return null;
        }

        if (type == JsonTokenType.PropertyName && depth == 1)
        {
            if (reader.ValueTextEquals(itemsProperty))
            {
                if (ItemsFound)
                {
                    return new JsonRefusal(StatusCodes.Status400BadRequest, "is given twice", itemsProperty);
                }

                _expectItems = true;
            }
            else if (_otherProperties.Count < 20)
            {
                var name = reader.GetString()!;
                _otherProperties.Add(name.Length <= 80 ? name : name[..77] + "...");
            }

            return null;
        }

        if (!_inItems)
        {
            return null;
        }

        if (depth == 1 && type == JsonTokenType.EndArray)
        {
            _inItems = false;
            return null;
        }

        if (depth != 2)
        {
            return _itemStart >= 0 && end - _itemStart > limits.MaxItemBytes ? ItemTooLarge() : null;
        }

        if (type is JsonTokenType.EndObject or JsonTokenType.EndArray)
        {
            return EndItem(end);
        }

        if (_items.Count >= limits.MaxItems)
        {
            return new JsonRefusal(StatusCodes.Status400BadRequest,
                $"must hold 1 to {limits.MaxItems} items; this one holds more (counted up to {limits.MaxItems + 1}, the rest was not read)", itemsProperty);
        }

        _itemStart = start;
        return type is JsonTokenType.StartObject or JsonTokenType.StartArray ? null : EndItem(end);
    }

    private JsonRefusal? EndItem(int end)
    {
        if (end - _itemStart > limits.MaxItemBytes)
        {
            return ItemTooLarge();
        }

        _items.Add((_itemStart, end - _itemStart));
        _itemStart = -1;
        return null;
    }

    private JsonRefusal ItemTooLarge() => new(StatusCodes.Status413PayloadTooLarge,
        $"{limits.ItemsProperty}[{_items.Count}] is larger than {limits.MaxItemBytes} bytes, the most one item may take.", $"{limits.ItemsProperty}[{_items.Count}]");

    private static bool UnescapesCleanly(ref Utf8JsonReader reader)
    {
        var length = reader.HasValueSequence ? checked((int)reader.ValueSequence.Length) : reader.ValueSpan.Length;
        var chars = ArrayPool<char>.Shared.Rent(Math.Max(length, 1));
        try
        {
            reader.CopyString(chars);
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
        finally
        {
            ArrayPool<char>.Shared.Return(chars);
        }
    }

    private static JsonRefusal Body(string detail) => new(StatusCodes.Status400BadRequest, detail);

    private static string Kind(JsonTokenType type) => type switch
    {
        JsonTokenType.StartObject => "an object",
        JsonTokenType.StartArray => "an array",
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        JsonTokenType.Null => "null",
        _ => "nothing",
    };
}

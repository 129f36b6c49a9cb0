using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Net.Http.Headers;
using Stevedore.Application;

namespace Stevedore.Host.Apis;

/// <summary>
/// A JSON request body, read within its endpoint's limits and checked by <see cref="JsonScan"/> while it arrived.
/// Anything parsed from it afterwards cannot fail on bad text: every string in it unescapes cleanly.
/// </summary>
public sealed class JsonBody
{
    private static readonly JsonDocumentOptions s_parse = new() { MaxDepth = JsonScan.MaxDepth };

    private readonly byte[] _bytes;
    private readonly int _length;
    private readonly JsonScan _scan;

    private JsonBody(byte[] bytes, int length, JsonScan scan)
    {
        _bytes = bytes;
        _length = length;
        _scan = scan;
    }

    /// <summary>Item count and byte ranges (with <see cref="JsonLimits.ItemsProperty"/>).</summary>
    public IReadOnlyList<(int Start, int Length)> Items => _scan.Items;
    public bool ItemsFound => _scan.ItemsFound;
    public IReadOnlyList<string> OtherProperties => _scan.OtherProperties;

    /// <summary>The whole body as a document (its root is an object). The caller disposes it.</summary>
    public JsonDocument Parse() => JsonDocument.Parse(_bytes.AsMemory(0, _length), s_parse);

    /// <summary>One item alone, so a batch is never held as one document. The caller disposes it.</summary>
    public JsonDocument ParseItem(int index) => JsonDocument.Parse(_bytes.AsMemory(Items[index].Start, Items[index].Length), s_parse);

    /// <summary>
    /// Reads the body of a JSON endpoint. Refuses a content type other than JSON (415), a body over the limit (413,
    /// without reading the rest) and a body that is not a well-formed JSON object of valid text (400). With
    /// <paramref name="allowEmpty"/>, an empty body is fine (null, null) when it has no content type or a JSON one.
    /// </summary>
    public static async Task<(JsonBody? Body, IResult? Problem)> ReadAsync(HttpRequest request, JsonLimits limits, bool allowEmpty = false)
    {
        var context = request.HttpContext;
        if (allowEmpty && DeclaredEmpty(request))
        {
            return (null, null);
        }

        if (ContentTypeProblem(request.ContentType) is { } unsupported)
        {
            return (null, unsupported);
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeLimit)
        {
            sizeLimit.MaxRequestBodySize = limits.MaxBytes;
        }

        if (request.ContentLength > limits.MaxBytes)
        {
            return (null, JsonInput.TooLarge(limits.MaxBytes));
        }

        var scan = new JsonScan(limits);
        // Grown as bytes arrive, not sized by what the client declares.
        var bytes = new byte[(int)Math.Min(request.ContentLength ?? 4096, 64 * 1024)];
        var length = 0;
        var body = request.BodyReader;
        try
        {
            while (true)
            {
                var read = await body.ReadAsync(context.RequestAborted);
                var buffer = read.Buffer;
                if (length + buffer.Length > limits.MaxBytes)
                {
                    return (null, JsonInput.TooLarge(limits.MaxBytes));
                }

                if (length + buffer.Length > bytes.Length)
                {
                    Array.Resize(ref bytes, (int)Math.Min(Math.Max(bytes.Length * 2L, length + buffer.Length), limits.MaxBytes));
                }

                foreach (var segment in buffer)
                {
                    segment.Span.CopyTo(bytes.AsSpan(length));
                    length += segment.Length;
                }

                body.AdvanceTo(buffer.End);
                if (length == 0 && read.IsCompleted)
                {
                    return allowEmpty ? (null, null) : (null, Refused(new JsonRefusal(StatusCodes.Status400BadRequest, "the request body is empty: send a JSON object")));
                }

                if (scan.Feed(bytes.AsSpan(0, length), read.IsCompleted) is { } refusal)
                {
                    return (null, Refused(refusal));
                }

                if (read.IsCompleted)
                {
                    return (new JsonBody(bytes, length, scan), null);
                }
            }
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, JsonInput.TooLarge(limits.MaxBytes));
        }
        catch (BadHttpRequestException ex)
        {
            // A body that ended early, a client too slow: the client's doing, answered, not logged as an error.
            return (null, Problems.Problem(ex.StatusCode, "The request body cannot be read.", ex.Message));
        }
        catch (IOException ex)
        {
            // Kestrel's chunked decoding reports a malformed chunk ("Bad chunk size data") as a plain IOException.
            return (null, Problems.Problem(StatusCodes.Status400BadRequest, "The request body cannot be read.", ex.Message));
        }
        catch (Exception) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away mid-body: nobody reads this answer.
            return (null, Problems.Problem(StatusCodes.Status400BadRequest, "The request body cannot be read.", "The connection closed before the body was complete."));
        }
    }

    /// <summary>True when the request says it has no body: no content type and no length (or a zero one).</summary>
    public static bool DeclaredEmpty(HttpRequest request) =>
        string.IsNullOrEmpty(request.ContentType)
        && (request.ContentLength == 0
            || (request.ContentLength is null && request.HttpContext.Features.Get<IHttpRequestBodyDetectionFeature>() is { CanHaveBody: false }));

    /// <summary>Null when the content type is JSON (application/json or any +json type) in UTF-8; else the 415 to send.</summary>
    public static IResult? ContentTypeProblem(string? contentType)
    {
        if (MediaTypeHeaderValue.TryParse(contentType, out var type)
            && (type.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
                || (type.Type.Equals("application", StringComparison.OrdinalIgnoreCase) && type.SubType.EndsWith("+json", StringComparison.OrdinalIgnoreCase)))
            && (type.Charset.Value is null || type.Charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase)))
        {
            return null;
        }

        var given = string.IsNullOrEmpty(contentType) ? "none" : $"'{(contentType.Length <= 80 ? contentType : contentType[..77] + "...")}'";
        return Problems.Problem(StatusCodes.Status415UnsupportedMediaType, "Unsupported media type.",
            $"This call takes a JSON body in UTF-8: send the header 'Content-Type: application/json' (the content type given: {given}).");
    }

    private static IResult Refused(JsonRefusal refusal)
    {
        if (refusal.Field is { } field && refusal.Status == StatusCodes.Status400BadRequest)
        {
            var errors = new FieldErrors();
            errors.Add(field, refusal.Detail);
            return Problems.Invalid(errors);
        }

        return refusal.Status == StatusCodes.Status413PayloadTooLarge
            ? Problems.Problem(StatusCodes.Status413PayloadTooLarge, "Payload too large.", refusal.Detail)
            : Problems.Problem(StatusCodes.Status400BadRequest, "The request body cannot be read.", refusal.Detail);
    }
}

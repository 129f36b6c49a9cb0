using Microsoft.AspNetCore.Http.Features;

namespace Stevedore.Host.Apis;

/// <summary>Reads a request body as raw bytes, any content type, up to a limit (413 beyond).</summary>
public static class RawBody
{
    public static async Task<(byte[]? Body, IResult? Problem)> ReadAsync(HttpRequest request, long maxBytes)
    {
        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = maxBytes;
        }

        if (request.ContentLength > maxBytes)
        {
            return (null, JsonInput.TooLarge(maxBytes));
        }

        try
        {
            using var buffer = new MemoryStream();
            await request.Body.CopyToAsync(buffer, request.HttpContext.RequestAborted);
            return buffer.Length > maxBytes ? (null, JsonInput.TooLarge(maxBytes)) : (buffer.ToArray(), null);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, JsonInput.TooLarge(maxBytes));
        }
    }
}

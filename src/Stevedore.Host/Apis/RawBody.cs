using Microsoft.AspNetCore.Http.Features;

namespace Stevedore.Host.Apis;

/// <summary>Reads a request body as raw bytes up to a limit (413 beyond), any content type or, with jsonOnly, a JSON one (415 otherwise).</summary>
public static class RawBody
{
    public static async Task<(byte[]? Body, IResult? Problem)> ReadAsync(HttpRequest request, long maxBytes, bool jsonOnly = false)
    {
        if (jsonOnly && !JsonBody.DeclaredEmpty(request) && JsonBody.ContentTypeProblem(request.ContentType) is { } unsupported)
        {
            return (null, unsupported);
        }

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
        catch (IOException ex)
        {
            // A body that ended early or a malformed chunk (Kestrel reports some as plain IOExceptions): the client's doing.
            return (null, Problems.Problem(ex is BadHttpRequestException bad ? bad.StatusCode : StatusCodes.Status400BadRequest, "The request body cannot be read.", ex.Message));
        }
        catch (OperationCanceledException) when (request.HttpContext.RequestAborted.IsCancellationRequested)
        {
            // The client went away mid-body: nobody reads this answer.
            return (null, Problems.Problem(StatusCodes.Status400BadRequest, "The request body cannot be read.", "The connection closed before the body was complete."));
        }
    }
}

using Docker.DotNet;

namespace Stevedore.Execution.Docker;

internal static class DockerErrors
{
    /// <summary>The engine's own message (the <c>message</c> of its JSON error body) rather than the client's wrapper text.</summary>
    public static string Message(DockerApiException ex)
    {
        var body = ex.ResponseBody?.Trim();
        if (string.IsNullOrEmpty(body))
        {
            return ex.Message;
        }

        try
        {
            using var json = System.Text.Json.JsonDocument.Parse(body);
            if (json.RootElement.TryGetProperty("message", out var message) && message.GetString() is { } text)
            {
                return text;
            }
        }
        catch (System.Text.Json.JsonException)
        {
        }

        return body;
    }
}

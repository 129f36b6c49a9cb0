using System.Net;
using System.Text.Json;

namespace Stevedore.Soak;

/// <summary>What the soak's callers saw of the API: answers counted by kind.</summary>
public sealed class CallCounts
{
    public int Unavailable;
    public int ServerErrors;
    public int TransportErrors;
    public int GivenUp;
    public readonly List<string> ServerErrorSamples = [];
}

/// <summary>
/// Calls the cluster as a careful client does: to any silo that is up; a 503, a 5xx or a broken connection is tried
/// again (on any silo, with the same idempotency key) until an answer or the deadline. A 5xx other than 503 is counted:
/// no call may answer one.
/// </summary>
public sealed class Api(IReadOnlyList<SoakSilo> silos)
{
    public CallCounts Counts { get; } = new();

    /// <summary>The answer's status and JSON body (null body when it has none); null when no silo answered in time.</summary>
    public async Task<(HttpStatusCode Status, JsonElement Body)?> SendAsync(
        HttpMethod method, string path, object? body, TimeSpan deadline, CancellationToken ct)
    {
        var until = DateTimeOffset.UtcNow + deadline;
        while (DateTimeOffset.UtcNow < until)
        {
            ct.ThrowIfCancellationRequested();
            var up = silos.Select(s => s.Http).OfType<HttpClient>().ToList();
            if (up.Count == 0)
            {
                await Task.Delay(200, ct);
                continue;
            }

            var http = up[Random.Shared.Next(up.Count)];
            try
            {
                using var request = new HttpRequestMessage(method, path);
                if (body is not null)
                {
                    request.Content = JsonContent(body);
                }

                using var response = await http.SendAsync(request, ct);
                var text = await response.Content.ReadAsStringAsync(ct);
                if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
                {
                    Interlocked.Increment(ref Counts.Unavailable);
                }
                else if ((int)response.StatusCode >= 500)
                {
                    Interlocked.Increment(ref Counts.ServerErrors);
                    lock (Counts.ServerErrorSamples)
                    {
                        if (Counts.ServerErrorSamples.Count < 5)
                        {
                            Counts.ServerErrorSamples.Add($"{method} {path} → {(int)response.StatusCode} {text[..Math.Min(text.Length, 300)]}");
                        }
                    }
                }
                else
                {
                    var json = text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
                    return (response.StatusCode, json);
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException && !ct.IsCancellationRequested)
            {
                Interlocked.Increment(ref Counts.TransportErrors);
            }

            await Task.Delay(250, ct);
        }

        Interlocked.Increment(ref Counts.GivenUp);
        return null;
    }

    private static StringContent JsonContent(object body) =>
        new(JsonSerializer.Serialize(body, JsonSerializerOptions.Web), System.Text.Encoding.UTF8, "application/json");
}

namespace Stevedore.Storage;

/// <summary>
/// A webhook of a job. The secret itself is not kept: only its SHA-256, which is what HMAC-SHA256 keys with for a
/// secret longer than its 64-byte block (RFC 2104), so signatures can still be checked.
/// </summary>
public sealed record WebhookRecord
{
    public required string Id { get; init; }
    public required string Job { get; init; }
    public required byte[] SecretHash { get; init; }
    /// <summary>Request headers whose values reach the container as <c>STEVEDORE_HOOK_HEADER_*</c> variables.</summary>
    public IReadOnlyList<string> Headers { get; init; } = [];
    public DateTimeOffset CreatedAt { get; init; }
}

public interface IWebhookStore
{
    Task InsertAsync(WebhookRecord hook, CancellationToken cancellationToken = default);
    Task<WebhookRecord?> GetAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>A job's webhooks, oldest first.</summary>
    Task<IReadOnlyList<WebhookRecord>> ListByJobAsync(string job, CancellationToken cancellationToken = default);
    Task<bool> DeleteAsync(string id, CancellationToken cancellationToken = default);
}

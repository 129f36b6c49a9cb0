using Stevedore.Storage;

namespace Stevedore.Application.Triggers;

/// <summary>A schedule as a caller sent it: every field optional and unchecked.</summary>
public sealed record ScheduleDraft
{
    public string? Cron { get; init; }
    public string? TimeZone { get; init; }
    public long? EverySeconds { get; init; }
    public DateTimeOffset? StartAt { get; init; }
    public DateTimeOffset? EndAt { get; init; }
    public long? MaxRuns { get; init; }
    /// <summary>The payload bytes each task gets (a JSON string's raw text, other JSON as its text).</summary>
    public ReadOnlyMemory<byte> Payload { get; init; }
    public long? Priority { get; init; }
    public IReadOnlyDictionary<string, string>? Labels { get; init; }
    public string? Overlap { get; init; }
}

/// <summary>A webhook as a caller asked for it.</summary>
public sealed record WebhookDraft
{
    /// <summary>Request headers whose values reach the container as <c>STEVEDORE_HOOK_HEADER_*</c>.</summary>
    public IReadOnlyList<string>? Headers { get; init; }
}

/// <summary>A call of a webhook: the raw request, as the front end received it.</summary>
public sealed record WebhookDelivery
{
    public required string HookId { get; init; }
    public ReadOnlyMemory<byte> Body { get; init; }
    public string? ContentType { get; init; }
    /// <summary>The <c>X-Stevedore-Token</c> header.</summary>
    public string? Token { get; init; }
    /// <summary>The <c>X-Stevedore-Signature</c> header: <c>sha256=&lt;hex HMAC-SHA256 of the body&gt;</c>.</summary>
    public string? Signature { get; init; }
    /// <summary>The sender's delivery id (<c>X-Request-Id</c> or <c>Idempotency-Key</c>): a redelivery makes no second task.</summary>
    public string? DeliveryId { get; init; }
    /// <summary>Looks up a request header by name (null when absent); only the hook's chosen headers are asked for.</summary>
    public Func<string, string?> Header { get; init; } = _ => null;
}

public sealed record CreatedWebhook(WebhookRecord Hook, string Secret);

public sealed record PublishedTask(string Job, string TaskId, bool Existing);

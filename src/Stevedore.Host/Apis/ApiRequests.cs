using System.Text.Json;

namespace Stevedore.Host.Apis;

// What callers send, for the OpenAPI document only (ApiDescriptions): the endpoints read bodies by hand (JsonInput),
// so that each wrong field gets its own message. Every field has a default, so that the schemas require only what
// the endpoints require.

/// <summary>The job a caller sends to <c>PUT /v1/jobs/{name}</c>; every field but <c>image</c> is optional.</summary>
public sealed record JobRequest(
    string Image, IReadOnlyList<string>? Command = null, IReadOnlyDictionary<string, string>? Env = null, int? TimeoutSeconds = null,
    int? MemoryMb = null, double? Cpus = null, int? MaxConcurrency = null, int? Retries = null, int? RetryDelaySeconds = null,
    double? RetryBackoff = null, string? Network = null, int? Priority = null, int? RetentionDays = null, IReadOnlyList<string>? Subscriptions = null,
    int? MaxQueued = null, IReadOnlyList<string>? Capabilities = null, string? User = null, bool? ReadOnlyRootFilesystem = null,
    HotRequest? Hot = null);

/// <summary>A job's <c>hot</c> object: hot containers per worker node (1–64, default 1) and seconds an idle one is kept (default 60).</summary>
public sealed record HotRequest(int? MaxPerNode = null, int? IdleSeconds = null);

/// <summary>A task a caller sends: <c>payload</c> is any JSON (a string is passed as its raw text).</summary>
public sealed record TaskRequest(
    JsonElement? Payload = null, int? Priority = null, int? DelaySeconds = null, int? TimeoutSeconds = null, string? IdempotencyKey = null,
    IReadOnlyDictionary<string, string>? Labels = null);

/// <summary>Up to 1000 tasks of one job, all or none.</summary>
public sealed record BatchRequest(IReadOnlyList<TaskRequest> Tasks);

/// <summary>A schedule a caller sends: <c>cron</c> (with <c>timeZone</c>) or <c>everySeconds</c>; <c>payload</c> as for a task.</summary>
public sealed record ScheduleRequest(
    string? Cron = null, string? TimeZone = null, int? EverySeconds = null, DateTimeOffset? StartAt = null, DateTimeOffset? EndAt = null,
    int? MaxRuns = null, JsonElement? Payload = null, int? Priority = null, IReadOnlyDictionary<string, string>? Labels = null,
    string? Overlap = null);

/// <summary>A webhook a caller asks for (the body may be left out).</summary>
public sealed record WebhookRequest(IReadOnlyList<string>? Headers = null);

using Stevedore.Application.Triggers;
using Stevedore.Storage;

namespace Stevedore.Host.Apis;

public sealed record ScheduleResponse(
    string Id,
    string Job,
    string? Cron,
    string? TimeZone,
    int? EverySeconds,
    DateTimeOffset? StartAt,
    DateTimeOffset? EndAt,
    int? MaxRuns,
    int? Priority,
    IReadOnlyDictionary<string, string> Labels,
    ScheduleOverlap Overlap,
    int PayloadBytes,
    ScheduleState State,
    DateTimeOffset CreatedAt,
    DateTimeOffset? NextRunAt,
    int Runs,
    int Skipped,
    DateTimeOffset? LastRunAt,
    string? LastTaskId)
{
    public static ScheduleResponse From(ScheduleInfo s) => new(
        s.Id, s.Spec.Job, s.Spec.Cron, s.Spec.Cron is null ? null : s.Spec.TimeZone, s.Spec.EverySeconds, s.Spec.StartAt, s.Spec.EndAt,
        s.Spec.MaxRuns, s.Spec.Priority, s.Spec.Labels, s.Spec.Overlap, s.Spec.PayloadBytes, s.State, s.CreatedAt, s.NextRunAt,
        s.Runs, s.Skipped, s.LastRunAt, s.LastTaskId);
}

public sealed record ScheduleListResponse(IReadOnlyList<ScheduleResponse> Items);

/// <summary>A webhook as listed: never its secret.</summary>
public sealed record WebhookResponse(string Id, string Job, string Url, IReadOnlyList<string> Headers, DateTimeOffset CreatedAt)
{
    public static WebhookResponse From(WebhookRecord hook, HttpRequest request) =>
        new(hook.Id, hook.Job, HookUrl(hook.Id, request), hook.Headers, hook.CreatedAt);

    public static string HookUrl(string id, HttpRequest request) => $"{request.Scheme}://{request.Host}{request.PathBase}/v1/hooks/{id}";
}

/// <summary>A webhook just made: the only time its secret is shown.</summary>
public sealed record CreatedWebhookResponse(string Id, string Job, string Url, string Secret, IReadOnlyList<string> Headers, DateTimeOffset CreatedAt)
{
    public static CreatedWebhookResponse From(CreatedWebhook created, HttpRequest request) => new(
        created.Hook.Id, created.Hook.Job, WebhookResponse.HookUrl(created.Hook.Id, request), created.Secret, created.Hook.Headers, created.Hook.CreatedAt);
}

public sealed record WebhookListResponse(IReadOnlyList<WebhookResponse> Items);

public sealed record HookAcceptedResponse(string TaskId, bool Duplicate);

public sealed record EventAcceptedResponse(IReadOnlyList<string> TaskIds, IReadOnlyList<string> Jobs);

using Google.Protobuf;
using Stevedore.Api.V1;

namespace Stevedore.Client;

/// <summary>Triggers: schedules, webhooks and events. Each only ever creates tasks of a job.</summary>
public sealed partial class StevedoreClient
{
    private readonly Schedules.SchedulesClient _schedules;
    private readonly Webhooks.WebhooksClient _webhooks;
    private readonly Events.EventsClient _events;

    /// <summary>
    /// Creates a schedule of the job: <see cref="ScheduleSpec.Cron"/> (with <see cref="ScheduleSpec.TimeZone"/>) or
    /// <see cref="ScheduleSpec.EverySeconds"/>. Each occurrence makes one task, labelled <c>schedule=&lt;id&gt;</c>.
    /// <see cref="StevedoreValidationException"/> names each invalid field (<c>cron</c>, <c>timeZone</c>, …);
    /// <see cref="StevedoreNotFoundException"/> when the job does not exist.
    /// </summary>
    public Task<Schedule> CreateScheduleAsync(string job, ScheduleSpec schedule, CancellationToken cancellationToken = default) =>
        CallAsync(() => _schedules.CreateScheduleAsync(new CreateScheduleRequest { Job = job, Schedule = schedule }, cancellationToken: cancellationToken));

    /// <summary>The schedule, with its state, next occurrence and what it has made so far.</summary>
    public Task<Schedule> GetScheduleAsync(string id, CancellationToken cancellationToken = default) =>
        CallAsync(() => _schedules.GetScheduleAsync(new ScheduleRequest { Id = id }, cancellationToken: cancellationToken));

    /// <summary>The job's schedules, oldest first.</summary>
    public async Task<IReadOnlyList<Schedule>> ListSchedulesAsync(string job, CancellationToken cancellationToken = default) =>
        (await CallAsync(() => _schedules.ListSchedulesAsync(new ListSchedulesRequest { Job = job }, cancellationToken: cancellationToken))).Items;

    /// <summary>Deletes the schedule; the tasks it made are left alone.</summary>
    public Task DeleteScheduleAsync(string id, CancellationToken cancellationToken = default) =>
        CallAsync(() => _schedules.DeleteScheduleAsync(new ScheduleRequest { Id = id }, cancellationToken: cancellationToken));

    /// <summary>Pauses the schedule: occurrences while paused never fire.</summary>
    public Task<Schedule> PauseScheduleAsync(string id, CancellationToken cancellationToken = default) =>
        CallAsync(() => _schedules.PauseScheduleAsync(new ScheduleRequest { Id = id }, cancellationToken: cancellationToken));

    /// <summary>Resumes a paused schedule from its next occurrence after now.</summary>
    public Task<Schedule> ResumeScheduleAsync(string id, CancellationToken cancellationToken = default) =>
        CallAsync(() => _schedules.ResumeScheduleAsync(new ScheduleRequest { Id = id }, cancellationToken: cancellationToken));

    /// <summary>
    /// Makes a webhook of the job. The answer carries its URL and its secret, shown only this once: a caller sends it
    /// as <c>X-Stevedore-Token</c>, or signs the body with it (<c>X-Stevedore-Signature: sha256=&lt;hex HMAC-SHA256&gt;</c>).
    /// </summary>
    /// <param name="job">The job whose tasks the hook makes.</param>
    /// <param name="headers">Request headers whose values reach the container as <c>STEVEDORE_HOOK_HEADER_&lt;NAME&gt;</c>.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public Task<CreateWebhookResponse> CreateWebhookAsync(string job, IEnumerable<string>? headers = null, CancellationToken cancellationToken = default)
    {
        var request = new CreateWebhookRequest { Job = job };
        request.Headers.AddRange(headers ?? []);
        return CallAsync(() => _webhooks.CreateWebhookAsync(request, cancellationToken: cancellationToken));
    }

    /// <summary>The job's webhooks, oldest first (never their secrets).</summary>
    public async Task<IReadOnlyList<Webhook>> ListWebhooksAsync(string job, CancellationToken cancellationToken = default) =>
        (await CallAsync(() => _webhooks.ListWebhooksAsync(new ListWebhooksRequest { Job = job }, cancellationToken: cancellationToken))).Items;

    /// <summary>Deletes a webhook of the job; calls of it are refused from now on.</summary>
    public Task DeleteWebhookAsync(string job, string id, CancellationToken cancellationToken = default) =>
        CallAsync(() => _webhooks.DeleteWebhookAsync(new DeleteWebhookRequest { Job = job, Id = id }, cancellationToken: cancellationToken));

    /// <summary>
    /// Publishes an event: one task for each job subscribed to the topic (<see cref="JobSpec.Subscriptions"/>), with
    /// the payload. The answer lists the tasks and their jobs, in the same order; none when nobody subscribes.
    /// </summary>
    /// <param name="topic">1–63 characters of a-z, 0-9, '.', '_' or '-'.</param>
    /// <param name="payload">The payload of every task.</param>
    /// <param name="idempotencyKey">The event's own id: publishing it again makes no new tasks.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public Task<PublishEventResponse> PublishEventAsync(
        string topic, ReadOnlyMemory<byte> payload = default, string? idempotencyKey = null, CancellationToken cancellationToken = default)
    {
        var request = new PublishEventRequest { Topic = topic, Payload = ByteString.CopyFrom(payload.Span) };
        if (idempotencyKey is not null)
        {
            request.IdempotencyKey = idempotencyKey;
        }

        return CallAsync(() => _events.PublishEventAsync(request, cancellationToken: cancellationToken));
    }

    /// <summary>Publishes an event with a UTF-8 text payload; see <see cref="PublishEventAsync(string, ReadOnlyMemory{byte}, string?, CancellationToken)"/>.</summary>
    public Task<PublishEventResponse> PublishEventAsync(string topic, string payload, string? idempotencyKey = null, CancellationToken cancellationToken = default) =>
        PublishEventAsync(topic, System.Text.Encoding.UTF8.GetBytes(payload), idempotencyKey, cancellationToken);
}

using Microsoft.Extensions.Options;
using Stevedore.Options;
using Stevedore.Storage;

namespace Stevedore.Application.Triggers;

/// <summary>
/// Event topics: publishing an event makes one task for each job that subscribes to the topic, with the event as its
/// payload. The subscribers come from the job store's topic index, so an event never reads every job.
/// </summary>
public sealed class EventService(IJobStore jobs, TaskService tasks, IOptions<QueueOptions> options)
{
    public const string EventLabel = "event";

    // Tasks of one event enqueued at once: a topic with many subscribers is fanned out in bounded steps.
    private const int FanOut = 16;

    /// <param name="eventId">The publisher's id of the event (<c>Idempotency-Key</c>): publishing it again makes no new tasks.</param>
    public async Task<AppResult<IReadOnlyList<PublishedTask>>> PublishAsync(
        string topic, ReadOnlyMemory<byte> payload, string? eventId = null, CancellationToken cancellationToken = default)
    {
        var errors = new FieldErrors();
        if (TriggerValidation.CheckTopic(topic) is { } topicError)
        {
            errors.Add("topic", topicError);
        }

        if (eventId is { } id && (id.Length is 0 or > 200 || id.Any(char.IsControl)))
        {
            errors.Add("Idempotency-Key", "must be 1–200 characters without control characters");
        }

        if (errors.Any)
        {
            return AppError.Invalid(errors);
        }

        if (payload.Length > options.Value.MaxPayloadBytes)
        {
            return AppError.TooLarge($"The event is {payload.Length} bytes; the limit is {options.Value.MaxPayloadBytes} bytes (Stevedore:Queue:MaxPayloadBytes).");
        }

        var subscribers = await jobs.ListSubscribersAsync(topic, cancellationToken);
        var published = new PublishedTask?[subscribers.Count];
        using var gate = new SemaphoreSlim(FanOut);
        await Task.WhenAll(subscribers.Select(async (job, i) =>
        {
            await gate.WaitAsync(cancellationToken);
            try
            {
                var result = await tasks.EnqueueAsync(job, new TaskDraft
                {
                    Payload = payload,
                    IdempotencyKey = eventId is null ? null : $"event:{topic}:{eventId}",
                    Labels = new Dictionary<string, string> { [EventLabel] = topic },
                });
                // A job deleted since the index was read takes no task.
                published[i] = result.Ok ? new PublishedTask(job, result.Value!.Task.Id, result.Value.Existing) : null;
            }
            finally
            {
                gate.Release();
            }
        }));
        return published.OfType<PublishedTask>().ToList();
    }
}

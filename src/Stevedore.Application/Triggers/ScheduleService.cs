using Microsoft.Extensions.Options;
using Stevedore.Options;
using Stevedore.Storage;

namespace Stevedore.Application.Triggers;

/// <summary>Schedules, as every front end (HTTP, gRPC, CLI) sees them. A schedule only ever creates tasks.</summary>
public sealed class ScheduleService(IGrainFactory grains, IScheduleStore store, IOptions<QueueOptions> options, TimeProvider time)
{
    public async Task<AppResult<ScheduleInfo>> CreateAsync(string job, ScheduleDraft draft)
    {
        if (Validation.CheckJobName(job) is not null || await grains.Job(job).GetAsync() is null)
        {
            return JobService.NotFound(job);
        }

        var now = time.GetUtcNow();
        var errors = new FieldErrors();
        var spec = TriggerValidation.Schedule(job, draft, now, errors);
        if (spec is null)
        {
            return AppError.Invalid(errors);
        }

        if (draft.Payload.Length > options.Value.MaxPayloadBytes)
        {
            return AppError.TooLarge($"payload is {draft.Payload.Length} bytes; the limit is {options.Value.MaxPayloadBytes} bytes (Stevedore:Queue:MaxPayloadBytes).");
        }

        var id = TaskIds.New(now);
        // The index row first: a schedule grain with state always has one (a row without a grain is dropped on listing).
        await store.InsertAsync(new ScheduleEntry(id, job, now), draft.Payload);
        return await grains.GetGrain<IScheduleGrain>(id).CreateAsync(spec, now);
    }

    public async Task<AppResult<ScheduleInfo>> GetAsync(string id) =>
        TaskIds.IsValid(id) && await grains.GetGrain<IScheduleGrain>(id).GetAsync() is { } schedule ? schedule : NotFound(id);

    /// <summary>A job's schedules, oldest first (through the schedule index, not by asking every schedule).</summary>
    public async Task<AppResult<IReadOnlyList<ScheduleInfo>>> ListAsync(string? job, CancellationToken cancellationToken = default)
    {
        var problem = job is null ? "is required: list the schedules of one job with ?job=<name>" : Validation.CheckJobName(job);
        if (problem is not null)
        {
            var errors = new FieldErrors();
            errors.Add("job", problem);
            return AppError.Invalid(errors);
        }

        var entries = await store.ListByJobAsync(job!, cancellationToken);
        var schedules = await Task.WhenAll(entries.Select(e => grains.GetGrain<IScheduleGrain>(e.Id).GetAsync()));
        foreach (var orphan in entries.Where((_, i) => schedules[i] is null))
        {
            // Its create or delete stopped midway: the grain holds nothing, so the index row goes too.
            await store.DeleteAsync(orphan.Id, cancellationToken);
        }

        return schedules.OfType<ScheduleInfo>().ToList();
    }

    public async Task<AppResult<ScheduleInfo>> SetPausedAsync(string id, bool paused) =>
        TaskIds.IsValid(id) && await grains.GetGrain<IScheduleGrain>(id).SetPausedAsync(paused) is { } schedule ? schedule : NotFound(id);

    public async Task<AppResult<bool>> DeleteAsync(string id)
    {
        if (!TaskIds.IsValid(id))
        {
            return NotFound(id);
        }

        var existed = await grains.GetGrain<IScheduleGrain>(id).DeleteAsync();
        var indexed = await store.DeleteAsync(id);
        return existed || indexed ? true : NotFound(id);
    }

    /// <summary>Deletes every schedule of a job (the job is being deleted).</summary>
    public async Task DeleteForJobAsync(string job, CancellationToken cancellationToken = default)
    {
        foreach (var entry in await store.ListByJobAsync(job, cancellationToken))
        {
            await grains.GetGrain<IScheduleGrain>(entry.Id).DeleteAsync();
            await store.DeleteAsync(entry.Id, cancellationToken);
        }
    }

    private static AppError NotFound(string id) =>
        AppError.NotFound($"There is no schedule '{Validation.Shorten(id)}'. List a job's schedules with GET /v1/schedules?job=<name>.");
}

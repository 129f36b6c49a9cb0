using Microsoft.Extensions.Options;
using Stevedore.Application.Triggers;
using Stevedore.Options;
using Stevedore.Storage;

namespace Stevedore.Application;

public sealed record JobStats(string Job, IReadOnlyDictionary<TaskRunStatus, long> Counts, int RunningNow, long QueuedNow);

/// <summary>A job with its task counts per status.</summary>
public sealed record JobOverview(JobInfo Job, IReadOnlyDictionary<TaskRunStatus, long> Counts);

/// <summary>
/// Jobs, as every front end (HTTP, gRPC, CLI) sees them. A change (PUT, pause, resume, delete) answers only once
/// every queue partition has fenced the old definition, so no task starts with it afterwards.
/// </summary>
public sealed class JobService(
    IGrainFactory grains, IJobStore jobs, ITaskStore tasks, ScheduleService schedules, WebhookService webhooks, IOptions<QueueOptions> options,
    TimeProvider time)
{
    public async Task<AppResult<PutJobResult>> PutAsync(string name, JobDraft draft)
    {
        var errors = new FieldErrors();
        if (Validation.CheckJobName(name) is { } nameError)
        {
            errors.Add("name", nameError);
        }

        var spec = Validation.Job(draft, errors);
        if (spec is null || errors.Any)
        {
            return AppError.Invalid(errors);
        }

        var put = await grains.Job(name).PutAsync(spec);
        await FenceAsync(name, put.Job);
        return put;
    }

    public async Task<AppResult<JobInfo>> GetAsync(string name)
    {
        if (Validation.CheckJobName(name) is not null)
        {
            return NotFound(name);
        }

        var job = await grains.Job(name).GetAsync();
        return job is null ? NotFound(name) : job;
    }

    public Task<IReadOnlyList<JobInfo>> ListAsync(CancellationToken cancellationToken = default) => jobs.ListAsync(cancellationToken);

    /// <summary>Every job with its task counts per status, in two store reads whatever the number of jobs.</summary>
    public async Task<IReadOnlyList<JobOverview>> OverviewAsync(CancellationToken cancellationToken = default)
    {
        var all = await jobs.ListAsync(cancellationToken);
        var counts = await tasks.CountAllByStatusAsync(cancellationToken);
        var none = Enum.GetValues<TaskRunStatus>().ToDictionary(s => s, _ => 0L);
        return all.Select(j => new JobOverview(j, counts.TryGetValue(j.Name, out var c) ? c : none)).ToList();
    }

    /// <summary>
    /// Deletes the job, fences it in every partition, then deletes its schedules and webhooks (also when the job was
    /// gone: a retry cleans up after a crash or a failed fence).
    /// </summary>
    public async Task<AppResult<bool>> DeleteAsync(string name)
    {
        if (Validation.CheckJobName(name) is not null)
        {
            return NotFound(name);
        }

        var existed = await grains.Job(name).DeleteAsync();
        await FenceAsync(name, job: null);
        await schedules.DeleteForJobAsync(name);
        await webhooks.DeleteForJobAsync(name);
        return existed ? true : NotFound(name);
    }

    public async Task<AppResult<JobInfo>> SetPausedAsync(string name, bool paused)
    {
        if (Validation.CheckJobName(name) is not null)
        {
            return NotFound(name);
        }

        var job = await grains.Job(name).SetPausedAsync(paused);
        if (job is null)
        {
            return NotFound(name);
        }

        await FenceAsync(name, job);
        return job;
    }

    /// <summary>
    /// Tells every partition the job's new state (<paramref name="job"/>, null when deleted). A partition answers
    /// after any lease in progress, so once all have answered no task starts with the old state. A partition whose
    /// silo just died is tried again, on the silo it moves to.
    /// </summary>
    private async Task FenceAsync(string name, JobInfo? job)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await Task.WhenAll(Enumerable.Range(0, options.Value.Partitions).Select(p => grains.Partition(p).FenceAsync(name, job)));
                return;
            }
            catch (Exception ex) when (attempt < 3 && ex is not OperationCanceledException)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(500 * attempt), time);
            }
        }
    }

    public async Task<AppResult<JobStats>> StatsAsync(string name, CancellationToken cancellationToken = default)
    {
        var job = await GetAsync(name);
        if (!job.Ok)
        {
            return job.Error!;
        }

        var counts = await tasks.CountByStatusAsync(name, cancellationToken);
        return new JobStats(name, counts, (int)counts.GetValueOrDefault(TaskRunStatus.Running), counts.GetValueOrDefault(TaskRunStatus.Queued));
    }

    internal static AppError NotFound(string name) =>
        AppError.NotFound($"There is no job '{name}'. Create it with PUT /v1/jobs/{name}, or list jobs with GET /v1/jobs.");
}

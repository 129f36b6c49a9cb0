using Stevedore.Application.Triggers;
using Stevedore.Storage;

namespace Stevedore.Application;

public sealed record JobStats(string Job, IReadOnlyDictionary<TaskRunStatus, long> Counts, int RunningNow, long QueuedNow);

/// <summary>A job with its task counts per status.</summary>
public sealed record JobOverview(JobInfo Job, IReadOnlyDictionary<TaskRunStatus, long> Counts);

/// <summary>Jobs, as every front end (HTTP, gRPC, CLI) sees them.</summary>
public sealed class JobService(IGrainFactory grains, IJobStore jobs, ITaskStore tasks, ScheduleService schedules, WebhookService webhooks)
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

        return await grains.Job(name).PutAsync(spec);
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

    /// <summary>Deletes the job, then its schedules and webhooks (also when the job was gone: a retry cleans up after a crash).</summary>
    public async Task<AppResult<bool>> DeleteAsync(string name)
    {
        if (Validation.CheckJobName(name) is not null)
        {
            return NotFound(name);
        }

        var existed = await grains.Job(name).DeleteAsync();
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
        return job is null ? NotFound(name) : job;
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

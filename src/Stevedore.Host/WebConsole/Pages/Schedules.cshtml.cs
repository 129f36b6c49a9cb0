using Microsoft.AspNetCore.Mvc;
using Stevedore.Application;
using Stevedore.Application.Triggers;

namespace Stevedore.Host.WebConsole.Pages;

/// <summary>
/// Every schedule of every job, and the pause, resume and delete buttons of schedules wherever they are shown (a
/// job's own list posts here too, with <c>back</c> naming the job to return to).
/// </summary>
public sealed class SchedulesModel(JobService jobs, ScheduleService schedules) : ConsolePage
{
    public IReadOnlyList<ScheduleInfo> All { get; private set; } = [];

    public async Task OnGetAsync(CancellationToken cancellationToken)
    {
        var list = new List<ScheduleInfo>();
        foreach (var job in await jobs.ListAsync(cancellationToken))
        {
            list.AddRange((await schedules.ListAsync(job.Name, cancellationToken)).Value ?? []);
        }

        All = list;
    }

    public async Task<IActionResult> OnPostPauseAsync(string id, string? back) =>
        Done(await schedules.SetPausedAsync(id, true), Back(back), s => $"Paused schedule {s.Id}: its occurrences do not fire until it is resumed.");

    public async Task<IActionResult> OnPostResumeAsync(string id, string? back) =>
        Done(await schedules.SetPausedAsync(id, false), Back(back),
            s => $"Resumed schedule {s.Id}; " + (s.NextRunAt is { } next ? $"next run {ConsoleFormat.Time(next)}." : "no run is left."));

    public async Task<IActionResult> OnPostDeleteAsync(string id, string? back) =>
        Done(await schedules.DeleteAsync(id), Back(back), _ => $"Deleted schedule {id}; the tasks it made stay.");

    private static string Back(string? job) =>
        string.IsNullOrEmpty(job) ? ConsoleSetup.Prefix + "/schedules" : TriggersModel.TriggersUrl(job) + "#schedules";
}

/// <summary>A list of schedules to show: one job's (<paramref name="Job"/> set, no job column) or every job's.</summary>
public sealed record ScheduleTable(IReadOnlyList<ScheduleInfo> Items, string? Job);

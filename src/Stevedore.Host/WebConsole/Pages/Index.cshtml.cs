using Microsoft.AspNetCore.Mvc;
using Stevedore.Application;

namespace Stevedore.Host.WebConsole.Pages;

/// <summary>Every job with its state and its tasks per status.</summary>
public sealed class IndexModel(JobService jobs) : ConsolePage
{
    public static readonly TaskRunStatus[] Statuses = Enum.GetValues<TaskRunStatus>();

    public IReadOnlyList<JobOverview> Jobs { get; private set; } = [];

    public async Task OnGetAsync(CancellationToken cancellationToken) => Jobs = await jobs.OverviewAsync(cancellationToken);

    public async Task<IActionResult> OnPostPauseAsync(string name) =>
        Done(await jobs.SetPausedAsync(name, true), ConsoleSetup.Prefix, j => $"Paused {j.Name}: its tasks queue but do not start.");

    public async Task<IActionResult> OnPostResumeAsync(string name) =>
        Done(await jobs.SetPausedAsync(name, false), ConsoleSetup.Prefix, j => $"Resumed {j.Name}.");
}

using Microsoft.AspNetCore.Mvc;
using Stevedore.Application;
using Stevedore.Storage;

namespace Stevedore.Host.WebConsole.Pages;

/// <summary>The dead letters: failed and timed-out tasks per job, redriven one at a time or all of a job at once.</summary>
public sealed class DeadLettersModel(JobService jobs, TaskService tasks) : ConsolePage
{
    [FromQuery] public string? Job { get; set; }
    [FromQuery] public string? Status { get; set; }
    [FromQuery] public string? Cursor { get; set; }

    public IReadOnlyList<(string Job, long Failed, long TimedOut)> PerJob { get; private set; } = [];
    public TaskPage? Result { get; private set; }
    public string Shown => Status == "timed_out" ? "timed_out" : "failed";

    public async Task OnGetAsync(CancellationToken cancellationToken)
    {
        PerJob = (await jobs.OverviewAsync(cancellationToken))
            .Select(j => (j.Job.Name, j.Counts.GetValueOrDefault(TaskRunStatus.Failed), j.Counts.GetValueOrDefault(TaskRunStatus.TimedOut)))
            .Where(j => j.Item2 + j.Item3 > 0)
            .ToList();
        var page = await tasks.ListAsync(new TaskListDraft { Job = string.IsNullOrEmpty(Job) ? null : Job, Status = Shown, Cursor = Cursor, Limit = "50" }, cancellationToken);
        if (page.Ok)
        {
            Result = page.Value;
        }
        else
        {
            Refusal = page.Error;
        }
    }

    public async Task<IActionResult> OnPostRedriveAllAsync(string job, CancellationToken cancellationToken) =>
        Done(await tasks.RedriveAsync(job, cancellationToken), Here(job), Describe);

    public async Task<IActionResult> OnPostRedriveAsync(string id) =>
        Done(await tasks.RedriveOneAsync(id), Here(Job), r => r.Existing ? $"{id} was redriven before: its retry is {r.Task.Id}." : $"Redriven {id}: queued again as {r.Task.Id}.");

    public static string Describe(RedriveResult result) =>
        $"Queued {result.Queued} dead letter{(result.Queued == 1 ? "" : "s")} again" +
        (result.AlreadyRedriven > 0 ? $"; {result.AlreadyRedriven} had been redriven already" : "") +
        (result.More ? ". More remain: redrive again." : ".");

    private static string Here(string? job) =>
        ConsoleSetup.Prefix + "/dead-letters" + (string.IsNullOrEmpty(job) ? "" : "?job=" + Uri.EscapeDataString(job));
}

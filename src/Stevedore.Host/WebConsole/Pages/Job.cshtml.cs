using Microsoft.AspNetCore.Mvc;
using Stevedore.Application;
using Stevedore.Application.Triggers;

namespace Stevedore.Host.WebConsole.Pages;

/// <summary>One job: its definition and counts, queueing a task, pause/resume, redrive, delete.</summary>
public sealed class JobModel(JobService jobs, TaskService tasks, ScheduleService schedules, WebhookService webhooks) : ConsolePage
{
    [FromRoute]
    public string Name { get; set; } = "";

    public JobInfo? Job { get; private set; }
    public JobStats? Stats { get; private set; }
    public int ScheduleCount { get; private set; }
    public int ActiveSchedules { get; private set; }
    public int WebhookCount { get; private set; }

    /// <summary>What the enqueue form held when it was refused, to show it again.</summary>
    public EnqueueForm Form { get; private set; } = new();

    public async Task<IActionResult> OnGetAsync(CancellationToken cancellationToken) => await ShowAsync(cancellationToken) ?? Page();

    public async Task<IActionResult> OnPostEnqueueAsync(EnqueueForm form, CancellationToken cancellationToken)
    {
        var errors = new FieldErrors();
        var draft = new TaskDraft
        {
            Payload = ConsoleFormat.TextBytes(form.Payload),
            Priority = ConsoleFormat.Number(form.Priority, "priority", errors),
            DelaySeconds = ConsoleFormat.Number(form.DelaySeconds, "delaySeconds", errors),
            TimeoutSeconds = ConsoleFormat.Number(form.TimeoutSeconds, "timeoutSeconds", errors),
            IdempotencyKey = string.IsNullOrWhiteSpace(form.IdempotencyKey) ? null : form.IdempotencyKey.Trim(),
            Labels = ConsoleFormat.KeyValueLines(form.Labels, "labels", errors),
        };
        var result = errors.Any ? AppError.Invalid(errors) : await tasks.EnqueueAsync(Name, draft);
        if (result.Ok)
        {
            TempData["Note"] = result.Value!.Existing ? "A task with this idempotency key exists already: here it is." : "Task queued.";
            return LocalRedirect(TaskUrl(result.Value!.Task.Id));
        }

        Refusal = result.Error;
        Form = form;
        Response.StatusCode = StatusCodes.Status400BadRequest;
        return await ShowAsync(cancellationToken) ?? Page();
    }

    public async Task<IActionResult> OnPostPauseAsync() =>
        Done(await jobs.SetPausedAsync(Name, true), JobUrl(Name), _ => "Paused: tasks queue but do not start.");

    public async Task<IActionResult> OnPostResumeAsync() =>
        Done(await jobs.SetPausedAsync(Name, false), JobUrl(Name), _ => "Resumed.");

    public async Task<IActionResult> OnPostRedriveAsync(CancellationToken cancellationToken) =>
        Done(await tasks.RedriveAsync(Name, cancellationToken), JobUrl(Name), DeadLettersModel.Describe);

    public async Task<IActionResult> OnPostDeleteAsync(bool confirm)
    {
        if (!confirm)
        {
            TempData["Error"] = "Tick the box to confirm the deletion.";
            return LocalRedirect(JobUrl(Name));
        }

        return Done(await jobs.DeleteAsync(Name), ConsoleSetup.Prefix,
            _ => $"Deleted job {Name}. Its finished tasks stay until their retention ends; queued ones fail.");
    }

    private async Task<IActionResult?> ShowAsync(CancellationToken cancellationToken)
    {
        var stats = await jobs.StatsAsync(Name, cancellationToken);
        if (!stats.Ok)
        {
            return NotFoundPage(stats.Error!.Detail);
        }

        Stats = stats.Value;
        Job = (await jobs.GetAsync(Name)).Value;
        if (Job is null)
        {
            return NotFoundPage($"There is no job '{Name}'.");
        }

        var scheduled = (await schedules.ListAsync(Name, cancellationToken)).Value ?? [];
        ScheduleCount = scheduled.Count;
        ActiveSchedules = scheduled.Count(s => s.State == ScheduleState.Active);
        WebhookCount = ((await webhooks.ListAsync(Name, cancellationToken)).Value ?? []).Count;
        return null;
    }

    public sealed class EnqueueForm
    {
        public string? Payload { get; set; }
        public string? Priority { get; set; }
        public string? DelaySeconds { get; set; }
        public string? TimeoutSeconds { get; set; }
        public string? IdempotencyKey { get; set; }
        public string? Labels { get; set; }
    }
}

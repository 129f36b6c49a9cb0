using Microsoft.AspNetCore.Mvc;
using Stevedore.Application;
using Stevedore.Application.Triggers;
using Stevedore.Host.Apis;
using Stevedore.Storage;

namespace Stevedore.Host.WebConsole.Pages;

/// <summary>
/// What makes a job's tasks besides a person: its schedules (listed, created from a form; pause, resume and delete go
/// to <see cref="SchedulesModel"/>) and its webhooks (listed, created — the secret shown on that one answer only —
/// and deleted). Calls <see cref="ScheduleService"/> and <see cref="WebhookService"/> as the HTTP API does.
/// </summary>
public sealed class TriggersModel(JobService jobs, ScheduleService schedules, WebhookService webhooks) : ConsolePage
{
    [FromRoute]
    public string Name { get; set; } = "";

    public JobInfo? Job { get; private set; }
    public IReadOnlyList<ScheduleInfo> Schedules { get; private set; } = [];
    public IReadOnlyList<WebhookRecord> Webhooks { get; private set; } = [];

    /// <summary>What the schedule form held when it was refused, to show it again.</summary>
    public ScheduleForm Form { get; private set; } = new();

    /// <summary>The webhook made by this very request, with its secret: shown once, never stored in a cookie or page cache.</summary>
    public CreatedWebhook? Created { get; private set; }

    /// <summary>What the webhook form held when it was refused.</summary>
    public string? HeadersTyped { get; private set; }

    public async Task<IActionResult> OnGetAsync(CancellationToken cancellationToken) => await ShowAsync(cancellationToken) ?? Page();

    public async Task<IActionResult> OnPostScheduleAsync(ScheduleForm form, CancellationToken cancellationToken)
    {
        var errors = new FieldErrors();
        var draft = form.ToDraft(errors);
        var result = errors.Any ? AppError.Invalid(errors) : await schedules.CreateAsync(Name, draft);
        if (result.Ok)
        {
            var made = result.Value!;
            TempData["Note"] = $"Schedule {made.Id} created; " +
                (made.NextRunAt is { } next ? $"its first task is due at {ConsoleFormat.Time(next)}." : "it has no run ahead.");
            return LocalRedirect(TriggersUrl(Name) + "#schedules");
        }

        return await RefusedAsync(result.Error!, cancellationToken, () => Form = form);
    }

    public async Task<IActionResult> OnPostWebhookAsync(string? headers, CancellationToken cancellationToken)
    {
        var names = (headers ?? "").Split([',', ' ', '\n', '\r', '\t'], StringSplitOptions.RemoveEmptyEntries);
        var result = await webhooks.CreateAsync(Name, new WebhookDraft { Headers = names.Length == 0 ? null : names });
        if (!result.Ok)
        {
            return await RefusedAsync(result.Error!, cancellationToken, () => HeadersTyped = headers);
        }

        // Rendered here rather than redirected: the secret must not travel through the note cookie.
        Created = result.Value;
        Response.StatusCode = StatusCodes.Status201Created;
        return await ShowAsync(cancellationToken) ?? Page();
    }

    public async Task<IActionResult> OnPostDeleteWebhookAsync(string id) =>
        Done(await webhooks.DeleteAsync(Name, id), TriggersUrl(Name) + "#webhooks", _ => $"Deleted webhook {id}: calls of its URL are refused from now on.");

    /// <summary>The URL a webhook is called at: this host as the browser reached it.</summary>
    public string HookUrl(string id) => WebhookResponse.HookUrl(id, Request);

    public static string TriggersUrl(string job) => JobUrl(job) + "/triggers";

    private async Task<IActionResult> RefusedAsync(AppError error, CancellationToken cancellationToken, Action keep)
    {
        Refusal = error;
        keep();
        Response.StatusCode = error.Kind == AppErrorKind.NotFound ? StatusCodes.Status404NotFound : StatusCodes.Status400BadRequest;
        return await ShowAsync(cancellationToken) ?? Page();
    }

    private async Task<IActionResult?> ShowAsync(CancellationToken cancellationToken)
    {
        var job = await jobs.GetAsync(Name);
        if (!job.Ok)
        {
            return NotFoundPage(job.Error!.Detail);
        }

        Job = job.Value;
        Schedules = (await schedules.ListAsync(Name, cancellationToken)).Value ?? [];
        Webhooks = (await webhooks.ListAsync(Name, cancellationToken)).Value ?? [];
        return null;
    }
}

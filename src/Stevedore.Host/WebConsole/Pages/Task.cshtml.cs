using System.Text;
using Microsoft.AspNetCore.Mvc;
using Stevedore.Application;

namespace Stevedore.Host.WebConsole.Pages;

/// <summary>One task: its record and attempts, payload and result previews, its log (followed live while it runs), and what can be done to it.</summary>
public sealed class TaskModel(TaskService tasks) : ConsolePage
{
    /// <summary>The log shown in the page; a longer one is read raw.</summary>
    public const int LogShownBytes = 256 * 1024;

    [FromRoute]
    public string Id { get; set; } = "";

    public TaskRecord? Task { get; private set; }
    public Preview? Payload { get; private set; }
    public Preview? Result { get; private set; }
    public string Log { get; private set; } = "";
    public bool LogCut { get; private set; }

    public bool Live => Task is { } t && !t.Status.IsTerminal();

    public async Task<IActionResult> OnGetAsync(CancellationToken cancellationToken)
    {
        var task = await tasks.GetAsync(Id);
        if (!task.Ok)
        {
            return NotFoundPage(task.Error!.Detail);
        }

        Task = task.Value;
        Payload = (await tasks.GetPayloadAsync(Id)) is { Ok: true } payload ? ConsoleFormat.Preview(payload.Value) : null;
        Result = (await tasks.GetResultAsync(Id)) is { Ok: true } result ? ConsoleFormat.Preview(result.Value) : null;
        await ReadLogAsync(cancellationToken);
        return Page();
    }

    public async Task<IActionResult> OnPostCancelAsync() =>
        Done(await tasks.CancelAsync(Id), TaskUrl(Id), t => t.Status == TaskRunStatus.Cancelled ? "Cancelled." : "Cancel requested: the container is being stopped.");

    public async Task<IActionResult> OnPostRetryAsync()
    {
        var retried = await tasks.RetryAsync(Id);
        return Done(retried, retried.Ok ? TaskUrl(retried.Value!.Task.Id) : TaskUrl(Id), _ => $"Queued again as a new task (a retry of {Id}).");
    }

    public async Task<IActionResult> OnPostRedriveAsync()
    {
        var redriven = await tasks.RedriveOneAsync(Id);
        return Done(redriven, redriven.Ok ? TaskUrl(redriven.Value!.Task.Id) : TaskUrl(Id),
            r => r.Existing ? $"{Id} was redriven before: this is its retry." : $"Redriven: queued again as a retry of {Id}.");
    }

    public async Task<IActionResult> OnPostDeleteAsync(CancellationToken cancellationToken)
    {
        var job = (await tasks.GetAsync(Id)).Value?.Job;
        var deleted = await tasks.DeleteAsync(Id, cancellationToken);
        return Done(deleted, deleted.Ok ? ConsoleSetup.Prefix + "/tasks" + (job is null ? "" : "?job=" + Uri.EscapeDataString(job)) : TaskUrl(Id),
            _ => $"Deleted task {Id} with its payload, log and result.");
    }

    private async Task ReadLogAsync(CancellationToken cancellationToken)
    {
        var log = new MemoryStream();
        using var enough = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        try
        {
            await tasks.ReadLogAsync(Id, only: null, follow: false, (data, _) =>
            {
                var room = LogShownBytes - (int)log.Length;
                log.Write(data.Span[..Math.Min(room, data.Length)]);
                if (data.Length > room)
                {
                    LogCut = true;
                    enough.Cancel();
                }

                return System.Threading.Tasks.Task.CompletedTask;
            }, enough.Token);
        }
        catch (OperationCanceledException) when (LogCut)
        {
        }

        Log = Encoding.UTF8.GetString(log.GetBuffer(), 0, (int)log.Length);
    }
}

using Microsoft.AspNetCore.Mvc;
using Stevedore.Application;
using Stevedore.Storage;

namespace Stevedore.Host.WebConsole.Pages;

/// <summary>Tasks, newest first, filtered by job, status and label, a page at a time.</summary>
public sealed class TasksModel(TaskService tasks, JobService jobs) : ConsolePage
{
    public const int PageSize = 50;

    [FromQuery] public string? Job { get; set; }
    [FromQuery] public string? Status { get; set; }
    [FromQuery] public string? Label { get; set; }
    [FromQuery] public string? Cursor { get; set; }

    public TaskPage? Result { get; private set; }
    public IReadOnlyList<string> JobNames { get; private set; } = [];

    public async Task OnGetAsync(CancellationToken cancellationToken)
    {
        JobNames = (await jobs.ListAsync(cancellationToken)).Select(j => j.Name).ToList();
        var page = await tasks.ListAsync(new TaskListDraft
        {
            Job = Blank(Job),
            Status = Blank(Status),
            Label = Blank(Label),
            Cursor = Blank(Cursor),
            Limit = PageSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
        }, cancellationToken);
        if (page.Ok)
        {
            Result = page.Value;
        }
        else
        {
            Refusal = page.Error;
            Response.StatusCode = StatusCodes.Status400BadRequest;
        }
    }

    /// <summary>This listing's address with another cursor (null: the newest page).</summary>
    public string PageUrl(string? cursor)
    {
        var query = new List<string>();
        void Add(string key, string? value)
        {
            if (Blank(value) is { } v)
            {
                query.Add($"{key}={Uri.EscapeDataString(v)}");
            }
        }

        Add("job", Job);
        Add("status", Status);
        Add("label", Label);
        Add("cursor", cursor);
        return ConsoleSetup.Prefix + "/tasks" + (query.Count > 0 ? "?" + string.Join("&", query) : "");
    }

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}

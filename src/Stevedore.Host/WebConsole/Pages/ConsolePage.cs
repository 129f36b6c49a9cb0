using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Stevedore.Application;

namespace Stevedore.Host.WebConsole.Pages;

/// <summary>What every console page shares: notes after an action, refusals shown as the API words them, missing things.</summary>
public abstract class ConsolePage : PageModel
{
    /// <summary>Set when what the page shows does not exist; the page then says so, with status 404.</summary>
    public string? Missing { get; private set; }

    /// <summary>A refusal to show on this rendering (with its per-field messages).</summary>
    public AppError? Refusal { get; protected set; }

    protected IActionResult NotFoundPage(string detail)
    {
        Missing = detail;
        Response.StatusCode = StatusCodes.Status404NotFound;
        return Page();
    }

    /// <summary>After an action: back to <paramref name="url"/> with a note, or with the refusal.</summary>
    protected IActionResult Done<T>(AppResult<T> result, string url, Func<T, string> note)
    {
        if (result.Ok)
        {
            TempData["Note"] = note(result.Value!);
        }
        else
        {
            TempData["Error"] = result.Error!.Detail;
        }

        return LocalRedirect(url);
    }

    protected static string TaskUrl(string id) => $"{ConsoleSetup.Prefix}/tasks/{id}";

    protected static string JobUrl(string job) => $"{ConsoleSetup.Prefix}/jobs/{Uri.EscapeDataString(job)}";
}

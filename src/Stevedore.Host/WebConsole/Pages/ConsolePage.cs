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

    /// <summary>
    /// The refusal's messages about one form field (its own key, and keys under it such as <c>labels.x</c> or
    /// <c>headers[0]</c>), to show beside that field.
    /// </summary>
    public IReadOnlyList<string> ErrorsFor(string field) =>
        Refusal?.Errors is { } errors
            ? errors.Where(e => e.Key == field || e.Key.StartsWith(field + ".", StringComparison.Ordinal) || e.Key.StartsWith(field + "[", StringComparison.Ordinal))
                .SelectMany(e => e.Value).ToList()
            : [];

    /// <summary>What <c>_FieldError</c> shows beside a field.</summary>
    public FieldMessages Messages(string field) => new(field, ErrorsFor(field));

    /// <summary>The id of the message shown beside a field when it was refused (for <c>aria-describedby</c>), else null.</summary>
    public string? ErrorId(string field) => ErrorsFor(field).Count > 0 ? field + "-error" : null;

    /// <summary><c>true</c> for <c>aria-invalid</c> when the field was refused, else null (no attribute).</summary>
    public string? Invalid(string field) => ErrorsFor(field).Count > 0 ? "true" : null;

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

/// <summary>The refusal's messages about one form field; shown beside it with the id <c>{Field}-error</c>.</summary>
public sealed record FieldMessages(string Field, IReadOnlyList<string> Messages);

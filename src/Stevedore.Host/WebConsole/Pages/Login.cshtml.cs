using Microsoft.AspNetCore.Mvc;

namespace Stevedore.Host.WebConsole.Pages;

/// <summary>The admin token, once, for a session cookie (<see cref="ConsoleSession"/>).</summary>
public sealed class LoginModel(ConsoleAccess access, TimeProvider time) : ConsolePage
{
    [BindProperty(SupportsGet = true, Name = "returnUrl")]
    public string? ReturnUrl { get; set; }

    public bool Refused { get; private set; }

    public IActionResult OnGet() => access.Session is null ? LocalRedirect(ConsoleSetup.Prefix) : Page();

    public IActionResult OnPost([FromForm] string? token)
    {
        if (access.Session is not { } session)
        {
            return LocalRedirect(ConsoleSetup.Prefix);
        }

        if (!session.IsToken(token))
        {
            Refused = true;
            Response.StatusCode = StatusCodes.Status401Unauthorized;
            return Page();
        }

        Response.Cookies.Append(ConsoleSession.CookieName, session.Issue(time.GetUtcNow()), ConsoleAuthMiddleware.CookieOptions(HttpContext));
        return LocalRedirect(SafeReturn(ReturnUrl));
    }

    /// <summary>Only back into the console: never to another site, whatever the link said.</summary>
    public static string SafeReturn(string? url) =>
        url is not null && url.StartsWith(ConsoleSetup.Prefix, StringComparison.Ordinal) && !url.StartsWith("//", StringComparison.Ordinal)
            && !url.Contains('\\', StringComparison.Ordinal) && Uri.TryCreate(url, UriKind.Relative, out _)
            ? url
            : ConsoleSetup.Prefix;
}

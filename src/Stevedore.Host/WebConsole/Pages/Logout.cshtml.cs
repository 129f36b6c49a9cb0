using Microsoft.AspNetCore.Mvc;

namespace Stevedore.Host.WebConsole.Pages;

/// <summary>Ends the console session (a form post, so no other site can log you out).</summary>
public sealed class LogoutModel : ConsolePage
{
    public IActionResult OnGet() => LocalRedirect(ConsoleSetup.Prefix);

    public IActionResult OnPost()
    {
        Response.Cookies.Delete(ConsoleSession.CookieName, ConsoleAuthMiddleware.CookieOptions(HttpContext));
        return LocalRedirect(ConsoleSetup.Prefix + "/login");
    }
}

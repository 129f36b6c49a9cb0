using Stevedore.Host.Hosting;

namespace Stevedore.Host.WebConsole;

/// <summary>
/// The console's guard, and its response headers. With an admin token set, every console page but the login needs a
/// session cookie (<see cref="ConsoleSession"/>): pages redirect to the login, anything else is 401. Without a token
/// the console is open, like the API (the host then listens on loopback only).
/// </summary>
public sealed class ConsoleAuthMiddleware(RequestDelegate next, ConsoleAccess access, TimeProvider time)
{
    private readonly ConsoleSession? _session = access.Session;

    public async Task InvokeAsync(HttpContext context)
    {
        var path = context.Request.Path;
        if (!path.StartsWithSegments(ConsoleSetup.Prefix))
        {
            await next(context);
            return;
        }

        var headers = context.Response.Headers;
        // Everything the console uses comes from this host; nothing may frame it or post it elsewhere.
        headers.ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
            "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "same-origin";
        // What antiforgery sets on every page with a form: set the same here, or it logs a warning on each such page.
        headers.CacheControl = "no-cache, no-store";
        headers.Pragma = "no-cache";

        if (_session is null || IsPublic(path) || _session.IsValid(context.Request.Cookies[ConsoleSession.CookieName], time.GetUtcNow()))
        {
            await next(context);
            return;
        }

        if (HttpMethods.IsGet(context.Request.Method) && !path.Value!.EndsWith("/log", StringComparison.Ordinal))
        {
            context.Response.Redirect(ConsoleSetup.Prefix + "/login?returnUrl=" + Uri.EscapeDataString(path + context.Request.QueryString));
            return;
        }

        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
        context.Response.ContentType = "text/plain; charset=utf-8";
        await context.Response.WriteAsync($"Log in to the console first: {ConsoleSetup.Prefix}/login\n");
    }

    private static bool IsPublic(PathString path) =>
        path.StartsWithSegments(ConsoleSetup.Prefix + "/login") || path.StartsWithSegments(ConsoleSetup.Prefix + "/assets");

    /// <summary>The session cookie: script cannot read it, other sites cannot send it, and over https it is https-only.</summary>
    public static CookieOptions CookieOptions(HttpContext context) => new()
    {
        HttpOnly = true,
        SameSite = SameSiteMode.Strict,
        Secure = context.Request.IsHttps,
        Path = ConsoleSetup.Prefix,
        MaxAge = ConsoleSession.Lifetime,
        IsEssential = true,
    };
}

/// <summary>Whether the console needs a login (an admin token is set), and the session that checks it.</summary>
public sealed class ConsoleAccess(IConfiguration configuration)
{
    public ConsoleSession? Session { get; } =
        configuration[StevedoreHost.AdminTokenKey] is { Length: > 0 } token ? new ConsoleSession(token) : null;
}

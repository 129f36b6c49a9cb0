using System.Reflection;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Npgsql;
using Stevedore.Application;
using Stevedore.Storage;

namespace Stevedore.Host.WebConsole;

/// <summary>
/// The web console at <c>/console</c>: Razor Pages rendered on the server from the shared framework, a style sheet
/// and one small script (the live log), all served by this host. Pages are a thin adapter over the application
/// services, like the HTTP API.
/// </summary>
public static class ConsoleSetup
{
    public const string Prefix = "/console";

    private static readonly Dictionary<string, string> s_assets = new(StringComparer.Ordinal)
    {
        ["console.css"] = "text/css; charset=utf-8",
        ["console.js"] = "text/javascript; charset=utf-8",
    };

    public static void AddStevedoreConsole(this WebApplicationBuilder builder, NpgsqlDataSource? dataSource)
    {
        builder.Services.AddSingleton<ConsoleAccess>();
        builder.Services.AddRazorPages(o => o.RootDirectory = "/WebConsole/Pages");
        builder.Services.AddAntiforgery(o =>
        {
            o.Cookie.Name = "stevedore_console_csrf";
            o.Cookie.Path = Prefix;
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            o.FormFieldName = "__csrf";
        });
        builder.Services.Configure<Microsoft.AspNetCore.Mvc.CookieTempDataProviderOptions>(o =>
        {
            o.Cookie.Name = "stevedore_console_note";
            o.Cookie.Path = Prefix;
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
        });
        builder.Services.AddDataProtection().SetApplicationName("stevedore");
        if (dataSource is not null)
        {
            builder.Services.Configure<KeyManagementOptions>(o => o.XmlRepository = new PostgresKeyRepository(dataSource));
        }
    }

    public static void MapStevedoreConsole(this WebApplication app)
    {
        app.UseMiddleware<ConsoleAuthMiddleware>();
        app.MapRazorPages();
        app.MapGet(Prefix + "/assets/{name}", (string name) =>
            s_assets.TryGetValue(name, out var type) && Assembly.GetExecutingAssembly().GetManifestResourceStream("console/" + name) is { } stream
                ? Results.Stream(stream, type)
                : Results.NotFound());

        // The log as text, for the live view's script (and as the plain-text fallback without script).
        app.MapGet(Prefix + "/tasks/{id}/log", async (string id, bool? follow, HttpContext context, TaskService service) =>
        {
            var started = false;
            var error = await service.ReadLogAsync(id, only: null, follow ?? false, async (data, ct) =>
            {
                if (!started)
                {
                    started = true;
                    context.Response.ContentType = "text/plain; charset=utf-8";
                }

                await context.Response.Body.WriteAsync(data, ct);
                await context.Response.Body.FlushAsync(ct);
            }, context.RequestAborted);
            if (error is not null)
            {
                return Results.Text(error.Detail + "\n", "text/plain; charset=utf-8", statusCode: StatusCodes.Status404NotFound);
            }

            return started ? Results.Empty : Results.Text("", "text/plain; charset=utf-8");
        });
    }
}

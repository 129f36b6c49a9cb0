using System.Net.Http.Json;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Stevedore.BrowserTests;

/// <summary>
/// Pictures of the main pages. Always taken (and checked to be pictures); written to the folder named by
/// STEVEDORE_SCREENSHOTS when it is set, which is how docs/screenshots is refreshed:
/// <c>scripts/screenshots</c> (which also shrinks them with pngquant).
/// </summary>
[Collection(ConsoleCollection.Name)]
public class ScreenshotTests(ConsoleServer server)
{
    [Fact]
    public async Task Screenshots_OfTheMainPages()
    {
        var folder = Environment.GetEnvironmentVariable("STEVEDORE_SCREENSHOTS") is { Length: > 0 } named
            ? named
            : Directory.CreateTempSubdirectory("stevedore-screens").FullName;
        Directory.CreateDirectory(folder);

        await server.PutJobAsync("thumbnails", new
        {
            image = ConsoleServer.Image,
            command = new[] { "sh", "-c", "echo \"resizing $(cat)\"; echo '{\"width\": 320}' > $STEVEDORE_RESULT_FILE; echo done" },
            retries = 2,
            maxConcurrency = 4,
        });
        await server.PutJobAsync("invoices", new { image = ConsoleServer.Image, command = new[] { "sh", "-c", "echo \"invoice $(cat)\"; echo 'no such customer' >&2; exit 3" } });
        string last = "";
        foreach (var n in Enumerable.Range(1, 3))
        {
            last = await server.EnqueueAsync("thumbnails", new { payload = $"photo-{n}.jpg", labels = new Dictionary<string, string> { ["album"] = "holiday" } });
        }

        var failed = await server.EnqueueAsync("invoices", new { payload = "2026-0042" });
        var nightly = await server.Api.PostAsJsonAsync("/v1/jobs/thumbnails/schedules", new { cron = "0 3 * * *", timeZone = "Europe/Berlin", payload = "album:holiday" });
        var often = await server.Api.PostAsJsonAsync("/v1/jobs/thumbnails/schedules", new { everySeconds = 3600, maxRuns = 24, payload = "album:recent" });
        var hook = await server.Api.PostAsJsonAsync("/v1/jobs/thumbnails/webhooks", new { headers = new[] { "X-GitHub-Event" } });
        Assert.True(nightly.IsSuccessStatusCode && often.IsSuccessStatusCode && hook.IsSuccessStatusCode, "schedules and a webhook to show");
        await server.WaitForStatusAsync(last, "succeeded");
        await server.WaitForStatusAsync(failed, "failed");

        var page = await server.NewPageAsync();
        var pictures = new List<string>();
        async Task ShootAsync(string path, string name, IPage? on = null)
        {
            var target = on ?? page;
            await target.GotoAsync(path);
            await Expect(target.Locator("h1")).ToBeVisibleAsync();
            var file = Path.Combine(folder, name + ".png");
            await target.ScreenshotAsync(new() { Path = file, FullPage = true });
            pictures.Add(file);
        }

        await ShootAsync("/console", "console-jobs");
        await ShootAsync("/console/jobs/thumbnails", "console-job");
        await ShootAsync("/console/tasks", "console-tasks");
        await ShootAsync($"/console/tasks/{last}", "console-task");
        await ShootAsync("/console/dead-letters", "console-dead-letters");
        await ShootAsync("/console/schedules", "console-schedules");

        // A job's schedules and webhooks, just after a webhook was made: its secret shown that once.
        await page.GotoAsync("/console/jobs/thumbnails/triggers");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create webhook" }).ClickAsync();
        await Expect(page.Locator("#hook-secret")).ToBeVisibleAsync();
        var triggers = Path.Combine(folder, "console-triggers.png");
        await page.ScreenshotAsync(new() { Path = triggers, FullPage = true });
        pictures.Add(triggers);
        var phone = await server.NewPageAsync(phone: true);
        await ShootAsync($"/console/tasks/{failed}", "console-task-phone", phone);

        foreach (var file in pictures)
        {
            var bytes = await File.ReadAllBytesAsync(file);
            Assert.True(bytes.Length > 5000 && bytes[..4].SequenceEqual(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }), $"{file} is not a picture");
        }

        await page.Context.CloseAsync();
        await phone.Context.CloseAsync();
    }
}

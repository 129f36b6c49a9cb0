using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Stevedore.BrowserTests;

/// <summary>A person queues a task from the page, watches its log arrive, and cancels one that runs: real containers.</summary>
[Collection(ConsoleCollection.Name)]
public class LiveTaskTests(ConsoleServer server)
{
    [Fact]
    public async Task QueuedFromTheJobPage_TheLogArrivesLive_WithoutAReload()
    {
        var job = Names.Unique("live");
        // The second line comes seconds after the first, and the task runs on after it: the page must show the
        // first alone, then both, while it is still the same page (no reload in between).
        await server.PutJobAsync(job, new { image = ConsoleServer.Image, command = new[] { "sh", "-c", "echo \"first $(cat)\"; sleep 3; echo second; sleep 3" } });
        var page = await server.NewPageAsync();
        await page.GotoAsync($"/console/jobs/{job}");

        await page.GetByLabel("Payload").FillAsync("from the page");
        await page.GetByLabel("Labels").FillAsync("origin=browser");
        await page.GetByRole(AriaRole.Button, new() { Name = "Queue task" }).ClickAsync();

        await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/console/tasks/[0-9a-f]{32}$"));
        var id = page.Url[^32..];
        var log = page.Locator("#log");
        await Expect(log).ToContainTextAsync("first from the page", new() { Timeout = 30_000 });
        await page.EvaluateAsync("() => { window.stillTheSamePage = true; }");
        Assert.DoesNotContain("second", await log.TextContentAsync());
        await page.WaitForFunctionAsync(
            "() => window.stillTheSamePage === true && document.getElementById('log').textContent.includes('second')",
            null, new() { Timeout = 30_000 });

        // When the task ends the page shows its outcome.
        await Expect(page.Locator("#task-status")).ToContainTextAsync("succeeded", new() { Timeout = 30_000 });
        await Expect(page.Locator("dl.fields")).ToContainTextAsync("origin:browser");
        var task = await server.TaskAsync(id);
        Assert.Equal("succeeded", task.GetProperty("status").GetString());
        Assert.Equal("browser", task.GetProperty("labels").GetProperty("origin").GetString());
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task ARunningTask_IsCancelledFromItsPage()
    {
        var job = Names.Unique("cancel");
        await server.PutJobAsync(job, new { image = ConsoleServer.Image, command = new[] { "sh", "-c", "echo started; sleep 300" } });
        var id = await server.EnqueueAsync(job);
        var page = await server.NewPageAsync();
        await page.GotoAsync($"/console/tasks/{id}");
        await Expect(page.Locator("#log")).ToContainTextAsync("started", new() { Timeout = 30_000 });

        await page.GetByRole(AriaRole.Button, new() { Name = "Cancel task" }).ClickAsync();

        await Expect(page.Locator("#task-status")).ToContainTextAsync("cancelled", new() { Timeout = 30_000 });
        Assert.Equal("cancelled", (await server.TaskAsync(id)).GetProperty("status").GetString());
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Cancel task" })).ToHaveCountAsync(0);
        await page.Context.CloseAsync();
    }
}

using System.Net.Http.Json;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Stevedore.BrowserTests;

/// <summary>Usable at phone width, by keyboard, and without colour.</summary>
[Collection(ConsoleCollection.Name)]
public class AccessibilityTests(ConsoleServer server)
{
    private async Task<(string Job, string Task)> SomethingToShowAsync()
    {
        var job = Names.Unique("a-rather-long-job-name-for-a-phone");
        await server.PutJobAsync(job, new { image = ConsoleServer.Image, command = new[] { "sh", "-c", "echo a-long-line-without-spaces-$(seq -s - 1 60); exit 2" } });
        var id = await server.EnqueueAsync(job, new { payload = "payload", labels = new Dictionary<string, string> { ["customer"] = "acme" } });
        await server.WaitForStatusAsync(id, "failed");
        var schedule = await server.Api.PostAsJsonAsync($"/v1/jobs/{job}/schedules", new { cron = "0 3 * * *", timeZone = "Europe/Berlin" });
        var hook = await server.Api.PostAsJsonAsync($"/v1/jobs/{job}/webhooks", new { headers = new[] { "X-GitHub-Event" } });
        Assert.True(schedule.IsSuccessStatusCode && hook.IsSuccessStatusCode, "a schedule and a webhook to show");
        return (job, id);
    }

    [Fact]
    public async Task AtPhoneWidth_NoPageSpillsSideways()
    {
        var (job, id) = await SomethingToShowAsync();
        var page = await server.NewPageAsync(phone: true);
        var spilling = new List<string>();
        foreach (var path in (string[])["/console", $"/console/jobs/{job}", "/console/tasks", $"/console/tasks/{id}", "/console/dead-letters", $"/console/job-definition/{job}", $"/console/jobs/{job}/triggers", "/console/schedules"])
        {
            await page.GotoAsync(path);
            var sizes = await page.EvaluateAsync<int[]>("() => [document.documentElement.scrollWidth, window.innerWidth]");
            var (scroll, width) = (sizes[0], sizes[1]);
            if (scroll > width)
            {
                spilling.Add($"{path} is {scroll} px wide in a {width} px window");
            }
        }

        Assert.True(spilling.Count == 0, string.Join("; ", spilling));

        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task TheKeyboard_ReachesTheSkipLinkFirst_ThenTheNavigation_WithFocusShown()
    {
        var page = await server.NewPageAsync();
        await page.GotoAsync("/console/tasks");

        await page.Keyboard.PressAsync("Tab");
        await Expect(page.Locator(":focus")).ToHaveTextAsync("Skip to content");
        Assert.True(await page.Locator(":focus").IsVisibleAsync());
        var outline = await page.EvaluateAsync<string>("() => getComputedStyle(document.activeElement).outlineStyle");
        Assert.NotEqual("none", outline);

        await page.Keyboard.PressAsync("Enter");
        await Expect(page.Locator(":focus")).ToHaveIdAsync("main");
        await page.Keyboard.PressAsync("Tab");
        await Expect(page.Locator(":focus")).ToHaveAccessibleNameAsync("Job");

        // From the navigation, Enter follows a link.
        await page.GetByRole(AriaRole.Link, new() { Name = "Dead letters" }).FocusAsync();
        await page.Keyboard.PressAsync("Enter");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Dead letters", Exact = true })).ToBeVisibleAsync();
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task EveryControl_HasALabel_AndEveryStatusIsAWord()
    {
        var (job, id) = await SomethingToShowAsync();
        var page = await server.NewPageAsync();
        foreach (var path in (string[])["/console", $"/console/jobs/{job}", "/console/tasks", $"/console/tasks/{id}", "/console/dead-letters", "/console/job-definition", $"/console/jobs/{job}/triggers", "/console/schedules"])
        {
            await page.GotoAsync(path);
            var unlabelled = await page.EvaluateAsync<string[]>("""
                () => [...document.querySelectorAll('input:not([type=hidden]), select, textarea, button')]
                    .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.textContent.trim())
                    .map(e => e.outerHTML)
                """);
            Assert.True(unlabelled.Length == 0, $"{path}: controls without a label: {string.Join(" ", unlabelled)}");
        }

        // Without colour, a status still says what it is.
        await page.GotoAsync($"/console/tasks/{id}");
        await Expect(page.Locator("#task-status")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("failed"));
        await page.Context.CloseAsync();
    }
}

using System.Text.Json;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Stevedore.BrowserTests;

/// <summary>The rest of a day of work: defining a job, pausing and resuming it, redriving dead letters, deleting a task.</summary>
[Collection(ConsoleCollection.Name)]
public class OperationsTests(ConsoleServer server)
{
    [Fact]
    public async Task ANewJob_IsDefinedInTheForm_WithAMistakeNamedFirst()
    {
        var job = Names.Unique("defined");
        var page = await server.NewPageAsync();
        await page.GotoAsync("/console");
        await page.GetByRole(AriaRole.Link, new() { Name = "New job" }).ClickAsync();

        await page.GetByLabel("Name").FillAsync(job);
        await page.GetByLabel("Definition (JSON)").FillAsync($$"""{"image": "{{ConsoleServer.Image}}", "memoryMb": 1}""");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create job" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("memoryMb");

        await page.GetByLabel("Definition (JSON)").FillAsync($$"""{"image": "{{ConsoleServer.Image}}", "memoryMb": 64, "retentionDays": 3}""");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create job" }).ClickAsync();

        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = $"Job {job}" })).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync($"Created job {job}");
        var saved = JsonDocument.Parse(await server.Api.GetStringAsync($"/v1/jobs/{job}")).RootElement;
        Assert.Equal(64, saved.GetProperty("memoryMb").GetInt32());
        Assert.Equal(3, saved.GetProperty("retentionDays").GetInt32());
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task AJob_IsPausedAndResumed_FromTheJobsList()
    {
        var job = Names.Unique("pausable");
        await server.PutJobAsync(job, new { image = ConsoleServer.Image, command = new[] { "true" } });
        var page = await server.NewPageAsync();
        await page.GotoAsync("/console");

        await page.GetByRole(AriaRole.Button, new() { Name = $"Pause {job}" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Row, new() { Name = job })).ToContainTextAsync("paused");
        Assert.Contains("\"paused\":true", await server.Api.GetStringAsync($"/v1/jobs/{job}"));

        await page.GetByRole(AriaRole.Button, new() { Name = $"Resume {job}" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Row, new() { Name = job })).ToContainTextAsync("active");
        Assert.Contains("\"paused\":false", await server.Api.GetStringAsync($"/v1/jobs/{job}"));
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task DeadLetters_AreRedrivenAllAtOnce_AndOnlyOnce()
    {
        var job = Names.Unique("dead");
        await server.PutJobAsync(job, new { image = ConsoleServer.Image, command = new[] { "sh", "-c", "echo no; exit 1" } });
        var failed = new[] { await server.EnqueueAsync(job), await server.EnqueueAsync(job) };
        foreach (var id in failed)
        {
            await server.WaitForStatusAsync(id, "failed");
        }

        var page = await server.NewPageAsync();
        await page.GotoAsync("/console/dead-letters");
        await page.GetByRole(AriaRole.Button, new() { Name = $"Redrive all 2 dead letters of {job}" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("Queued 2 dead letters again");

        // The same click again queues none (each dead letter is redriven once).
        await page.GotoAsync($"/console/jobs/{job}");
        var retries = JsonDocument.Parse(await server.Api.GetStringAsync($"/v1/tasks?job={job}")).RootElement.GetProperty("items")
            .EnumerateArray().Where(t => t.GetProperty("retryOf").ValueKind == JsonValueKind.String).ToList();
        Assert.Equal(failed.Order(), retries.Select(t => t.GetProperty("retryOf").GetString()).Order());
        foreach (var retry in retries)
        {
            await server.WaitForStatusAsync(retry.GetProperty("id").GetString()!, "failed");
        }

        await page.GotoAsync($"/console/dead-letters?job={job}");
        await page.GetByRole(AriaRole.Button, new() { Name = $"Redrive {failed[0]}" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("was redriven before");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task AFinishedTask_IsDeletedFromItsPage()
    {
        var job = Names.Unique("deleted");
        await server.PutJobAsync(job, new { image = ConsoleServer.Image, command = new[] { "echo", "bye" } });
        var id = await server.EnqueueAsync(job);
        await server.WaitForStatusAsync(id, "succeeded");
        var page = await server.NewPageAsync();
        await page.GotoAsync($"/console/tasks/{id}");

        await page.GetByRole(AriaRole.Button, new() { Name = "Delete" }).ClickAsync();

        await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync($"Deleted task {id}");
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await server.Api.GetAsync($"/v1/tasks/{id}")).StatusCode);
        await page.GotoAsync($"/console/tasks/{id}");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "No such task" })).ToBeVisibleAsync();
        await page.Context.CloseAsync();
    }
}

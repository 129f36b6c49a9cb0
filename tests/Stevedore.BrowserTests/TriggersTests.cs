using System.Net;
using System.Text.Json;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Stevedore.BrowserTests;

/// <summary>Schedules and webhooks made, paused and deleted from the console, with their tasks running in real containers.</summary>
[Collection(ConsoleCollection.Name)]
public class TriggersTests(ConsoleServer server)
{
    [Fact]
    public async Task ASchedule_MadeInItsForm_RunsItsTask_ThenIsPausedAndDeleted()
    {
        var job = Names.Unique("scheduled");
        await server.PutJobAsync(job, new { image = ConsoleServer.Image, command = new[] { "sh", "-c", "echo \"tick $(cat)\"" } });
        var page = await server.NewPageAsync();
        await page.GotoAsync($"/console/jobs/{job}");
        await page.GetByRole(AriaRole.Link, new() { Name = $"Schedules and webhooks of {job}" }).ClickAsync();

        // A mistake is named beside its field, and what was typed stays.
        await page.GetByRole(AriaRole.Textbox, new() { Name = "Cron expression" }).FillAsync("61 * * * *");
        await page.GetByLabel("Payload").FillAsync("from a schedule");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create schedule" }).ClickAsync();
        await Expect(page.Locator("#cron-error")).ToContainTextAsync("is not a cron expression");
        await Expect(page.GetByRole(AriaRole.Textbox, new() { Name = "Cron expression" })).ToHaveAttributeAsync("aria-invalid", "true");
        await Expect(page.GetByRole(AriaRole.Textbox, new() { Name = "Cron expression" })).ToHaveAttributeAsync("aria-describedby", "cron-error");
        await Expect(page.GetByLabel("Payload")).ToHaveValueAsync("from a schedule");

        await page.GetByLabel("every N seconds").CheckAsync();
        await page.GetByLabel("Every, seconds").FillAsync("none");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create schedule" }).ClickAsync();
        await Expect(page.Locator("#everySeconds-error")).ToContainTextAsync("not a whole number");
        await Expect(page.Locator("#cron-error")).ToHaveCountAsync(0);

        await page.GetByLabel("Every, seconds").FillAsync("1");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create schedule" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("created; its first task is due at");
        var row = page.Locator("tr[data-schedule]");
        await Expect(row).ToHaveCountAsync(1);
        var id = (await row.GetAttributeAsync("data-schedule"))!;
        await Expect(row).ToContainTextAsync("every 1 s");
        await Expect(row.Locator(".schedule-state")).ToHaveTextAsync("● active");

        // Its first task appears on the page, and runs.
        await Wait.UntilAsync(
            async () => (await ScheduleAsync(id)).GetProperty("lastTaskId"),
            t => t.ValueKind == JsonValueKind.String, $"schedule {id} to make a task", describe: t => t.ToString());
        await page.ReloadAsync();
        await page.GetByRole(AriaRole.Link, new() { Name = $"Last task of schedule {id}" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/console/tasks/[0-9a-f]{32}$"));
        var taskId = page.Url[^32..];
        // The page shows the outcome once the task ends (its script reloads it then).
        await Expect(page.Locator("#task-status")).ToContainTextAsync("succeeded", new() { Timeout = 30_000 });
        Assert.Equal("succeeded", (await server.TaskAsync(taskId)).GetProperty("status").GetString());
        await Expect(page.Locator("#log")).ToContainTextAsync("tick from a schedule");
        await Expect(page.Locator("dl.fields")).ToContainTextAsync($"schedule:{id}");

        // Paused from the page: the API says so and no run is ahead.
        await page.GotoAsync($"/console/jobs/{job}/triggers");
        await page.GetByRole(AriaRole.Button, new() { Name = $"Pause schedule {id}" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync($"Paused schedule {id}");
        await Expect(page.Locator($"tr[data-schedule='{id}'] .schedule-state")).ToHaveTextAsync("⏸ paused");
        var paused = await ScheduleAsync(id);
        Assert.Equal("paused", paused.GetProperty("state").GetString());
        Assert.Equal(JsonValueKind.Null, paused.GetProperty("nextRunAt").ValueKind);

        // The overview lists it with its job, and resumes it.
        await page.GotoAsync("/console/schedules");
        await Expect(page.Locator($"tr[data-schedule='{id}']")).ToContainTextAsync(job);
        await page.GetByRole(AriaRole.Button, new() { Name = $"Resume schedule {id}" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync($"Resumed schedule {id}");
        Assert.Equal("active", (await ScheduleAsync(id)).GetProperty("state").GetString());

        await page.GetByRole(AriaRole.Button, new() { Name = $"Delete schedule {id}" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync($"Deleted schedule {id}");
        Assert.Equal(HttpStatusCode.NotFound, (await server.Api.GetAsync($"/v1/schedules/{id}")).StatusCode);
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task AWebhook_ShowsItsSecretOnce_IsCalledWithIt_AndIsDeleted()
    {
        var job = Names.Unique("hooked");
        await server.PutJobAsync(job, new { image = ConsoleServer.Image, command = new[] { "sh", "-c", "echo \"got $(cat) as $STEVEDORE_HOOK_HEADER_X_DELIVERY_NOTE\"" } });
        var page = await server.NewPageAsync();
        await page.GotoAsync($"/console/jobs/{job}/triggers");

        await page.GetByLabel("Request headers to pass").FillAsync("Authorization");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create webhook" }).ClickAsync();
        await Expect(page.Locator("#headers-error")).ToContainTextAsync("carries credentials");
        Assert.Empty(JsonDocument.Parse(await server.Api.GetStringAsync($"/v1/jobs/{job}/webhooks")).RootElement.GetProperty("items").EnumerateArray());

        await page.GetByLabel("Request headers to pass").FillAsync("X-Delivery-Note");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create webhook" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("shown only this once");
        var url = (await page.Locator("#hook-url").TextContentAsync())!.Trim();
        var secret = (await page.Locator("#hook-secret").TextContentAsync())!.Trim();
        Assert.StartsWith(server.Address.TrimEnd('/') + "/v1/hooks/", url, StringComparison.Ordinal);
        Assert.StartsWith("whsec_", secret, StringComparison.Ordinal);

        // Called as a sender would: no admin token, the shown secret.
        using var sender = new HttpClient();
        using var call = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent("order-7") };
        call.Headers.Add("X-Stevedore-Token", secret);
        call.Headers.Add("X-Delivery-Note", "urgent");
        var accepted = await sender.SendAsync(call);
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var taskId = JsonDocument.Parse(await accepted.Content.ReadAsStringAsync()).RootElement.GetProperty("taskId").GetString()!;
        await server.WaitForStatusAsync(taskId, "succeeded");
        Assert.Contains("got order-7 as urgent", await server.Api.GetStringAsync($"/v1/tasks/{taskId}/log"));

        // Listed afterwards without its secret.
        await page.GotoAsync($"/console/jobs/{job}/triggers");
        var hookId = url[^32..];
        await Expect(page.GetByRole(AriaRole.Row, new() { Name = hookId })).ToContainTextAsync("X-Delivery-Note");
        Assert.DoesNotContain(secret, await page.ContentAsync());

        await page.GetByRole(AriaRole.Button, new() { Name = $"Delete webhook {hookId}" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync($"Deleted webhook {hookId}");
        using var again = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent("order-8") };
        again.Headers.Add("X-Stevedore-Token", secret);
        Assert.Equal(HttpStatusCode.NotFound, (await sender.SendAsync(again)).StatusCode);
        await page.Context.CloseAsync();
    }

    private async Task<JsonElement> ScheduleAsync(string id) =>
        JsonDocument.Parse(await server.Api.GetStringAsync($"/v1/schedules/{id}")).RootElement;
}

using System.Net;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Stevedore.BrowserTests;

[Collection(ConsoleCollection.Name)]
public class LoginTests(ConsoleServer server)
{
    [Fact]
    public async Task TheConsole_AsksForTheAdminToken_RefusesAWrongOne_AndSetsAStrictHttpOnlyCookie()
    {
        await using var context = await server.NewContextAsync();
        var page = await context.NewPageAsync();

        await page.GotoAsync("/console/tasks?status=failed");
        await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/console/login"));
        await page.GetByLabel("Admin token").FillAsync("not-the-token-at-all");
        await page.GetByRole(AriaRole.Button, new() { Name = "Log in" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("not this server's admin token");
        Assert.DoesNotContain(await context.CookiesAsync(), c => c.Name == "stevedore_console");

        await page.GetByLabel("Admin token").FillAsync(ConsoleServer.Token);
        await page.GetByRole(AriaRole.Button, new() { Name = "Log in" }).ClickAsync();

        // Back where the login interrupted, with the filter kept.
        await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/console/tasks\\?status=failed$"));
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Tasks" })).ToBeVisibleAsync();
        var cookie = Assert.Single(await context.CookiesAsync(), c => c.Name == "stevedore_console");
        Assert.True(cookie.HttpOnly);
        Assert.Equal(SameSiteAttribute.Strict, cookie.SameSite);
        Assert.Equal("/console", cookie.Path);

        await page.GetByRole(AriaRole.Button, new() { Name = "Log out" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/console/login"));
        await page.GotoAsync("/console");
        await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/console/login"));
    }

    [Fact]
    public async Task AFormPost_WithoutTheAntiforgeryToken_IsRefused_EvenWithTheSessionCookie()
    {
        var job = Names.Unique("csrf");
        await server.PutJobAsync(job, new { image = ConsoleServer.Image });
        var page = await server.NewPageAsync();
        var cookies = await page.Context.CookiesAsync();
        using var handler = new HttpClientHandler { UseCookies = false, AllowAutoRedirect = false };
        using var http = new HttpClient(handler) { BaseAddress = new Uri(server.Address) };
        using var forged = new HttpRequestMessage(HttpMethod.Post, $"/console/jobs/{job}?handler=Pause")
        {
            Content = new FormUrlEncodedContent([]),
        };
        forged.Headers.Add("Cookie", string.Join("; ", cookies.Select(c => $"{c.Name}={c.Value}")));

        var response = await http.SendAsync(forged);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var job1 = await server.Api.GetStringAsync($"/v1/jobs/{job}");
        Assert.Contains("\"paused\":false", job1);
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task WithoutASession_ActionsAndTheLogAre401_AndPagesRedirectToTheLogin()
    {
        using var handler = new HttpClientHandler { AllowAutoRedirect = false };
        using var http = new HttpClient(handler) { BaseAddress = new Uri(server.Address) };

        Assert.Equal(HttpStatusCode.Redirect, (await http.GetAsync("/console")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/console/tasks/0123456789abcdef0123456789abcdef/log")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.PostAsync("/console/jobs/x?handler=Pause", new FormUrlEncodedContent([]))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/console/assets/console.css")).StatusCode);
    }
}

using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using static Stevedore.IntegrationTests.Cli.CliProcess;

namespace Stevedore.IntegrationTests.Cli;

/// <summary>The built <c>stevedore</c> binary's trigger commands against a running host with real containers.</summary>
[Collection(ServerCollection.Name)]
public class CliTriggerTests(StevedoreServer server)
{
    private Task<CliProcess.Run> Stevedore(params string[] args) => CliProcess.RunAsync(server, args);

    private static JsonElement Json(CliProcess.Run run) => JsonDocument.Parse(Succeeded(run).Stdout).RootElement;

    private async Task<string> JobAsync(string prefix, params string[] options)
    {
        var name = Names.Unique(prefix);
        Succeeded(await Stevedore(["job", "put", name, "--image", StevedoreServer.Image, "--timeout", "1m", .. options, "--", "sh", "-c", "cat > $STEVEDORE_RESULT_FILE"]));
        return name;
    }

    [Fact]
    public async Task ScheduleCreate_ListGetPauseResumeDelete()
    {
        var job = await JobAsync("clisched");
        var cron = Json(await Stevedore("schedule", "create", job, "--cron", "0 9 * * 1-5", "--tz", "Europe/Berlin", "--payload", "good morning",
            "--label", "team=ops", "--overlap", "allow", "--max-runs", "3", "--priority", "1", "--end-at", "2099-01-01T00:00:00Z", "-o", "json"));
        var id = cron.GetProperty("id").GetString()!;
        Assert.Equal(("0 9 * * 1-5", "Europe/Berlin", "allow", "active"), (cron.GetProperty("cron").GetString(), cron.GetProperty("timeZone").GetString(),
            cron.GetProperty("overlap").GetString(), cron.GetProperty("state").GetString()));
        Assert.Equal((3, 1, 12, "ops"), (cron.GetProperty("maxRuns").GetInt32(), cron.GetProperty("priority").GetInt32(), cron.GetProperty("payloadBytes").GetInt32(),
            cron.GetProperty("labels").GetProperty("team").GetString()));
        Assert.Equal(new DateTimeOffset(2099, 1, 1, 0, 0, 0, TimeSpan.Zero), cron.GetProperty("endAt").GetDateTimeOffset());
        Assert.InRange(cron.GetProperty("nextRunAt").GetDateTimeOffset().UtcDateTime.DayOfWeek, DayOfWeek.Monday, DayOfWeek.Friday);

        var every = await Stevedore("schedule", "create", job, "--every", "1h");
        Assert.Contains("every 3600s", Succeeded(every).Stdout);
        Assert.Contains("created schedule", every.Stderr);

        var listed = Json(await Stevedore("schedule", "list", "--job", job, "-o", "json")).GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(2, listed.Count);
        Assert.Equal(id, listed[0].GetProperty("id").GetString());
        Assert.Equal(3600, listed[1].GetProperty("everySeconds").GetInt32());
        Assert.Contains(Json(await Stevedore("schedule", "list", "-o", "json")).GetProperty("items").EnumerateArray(), s => s.GetProperty("id").GetString() == id);
        Assert.Contains(id, Succeeded(await Stevedore("schedule", "list", "--job", job)).Stdout);

        Assert.Equal("paused", Json(await Stevedore("schedule", "pause", id, "-o", "json")).GetProperty("state").GetString());
        Assert.Equal("active", Json(await Stevedore("schedule", "resume", id, "-o", "json")).GetProperty("state").GetString());
        Assert.Contains("Europe/Berlin", Succeeded(await Stevedore("schedule", "get", id)).Stdout);
        Succeeded(await Stevedore("schedule", "delete", id));
        FailedWith(3, await Stevedore("schedule", "get", id), "no schedule");
        Assert.Single(Json(await Stevedore("schedule", "list", "--job", job, "-o", "json")).GetProperty("items").EnumerateArray());
    }

    [Fact]
    public async Task ScheduleCreate_Every_MakesTasksThatRun()
    {
        var job = await JobAsync("clitick");
        var id = Json(await Stevedore("schedule", "create", job, "--every", "1s", "--max-runs", "1", "--payload", "tick", "-o", "json")).GetProperty("id").GetString()!;
        var deadline = Stopwatch.StartNew();
        JsonElement schedule;
        while ((schedule = Json(await Stevedore("schedule", "get", id, "-o", "json"))).GetProperty("state").GetString() != "finished")
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(30), $"the schedule has not finished: {schedule}");
        }

        var taskId = schedule.GetProperty("lastTaskId").GetString()!;
        Assert.Equal("succeeded", (await server.WaitForEndAsync(taskId)).GetProperty("status").GetString());
        Assert.Equal("tick", Succeeded(await Stevedore("task", "result", taskId)).Stdout);
    }

    [Fact]
    public async Task WebhookCreate_PrintsUrlAndSecretOnce_AndTheSecretSignsACall()
    {
        var job = await JobAsync("clihook");
        var created = Succeeded(await Stevedore("webhook", "create", job, "--header", "X-Event"));
        var printed = created.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(' ', 2, StringSplitOptions.TrimEntries)).ToDictionary(p => p[0], p => p[1]);
        var (url, secret) = (printed["url"], printed["secret"]);
        Assert.Contains("X-Stevedore-Token", created.Stderr);
        Assert.Contains(url, created.Stderr);

        // As the hint says: the body signed with the secret.
        var body = "{\"action\":\"opened\"}"u8.ToArray();
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(body) };
        request.Headers.Add("X-Stevedore-Signature", "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body)));
        var response = await server.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var taskId = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("taskId").GetString()!;
        Assert.Equal("succeeded", (await server.WaitForEndAsync(taskId)).GetProperty("status").GetString());
        Assert.Equal("{\"action\":\"opened\"}", Succeeded(await Stevedore("task", "result", taskId)).Stdout);

        var list = await Stevedore("webhook", "list", job, "-o", "json");
        var hook = Assert.Single(Json(list).GetProperty("items").EnumerateArray());
        Assert.Equal((printed["id"], url), (hook.GetProperty("id").GetString(), hook.GetProperty("url").GetString()));
        Assert.DoesNotContain(secret, list.Stdout);
        Assert.DoesNotContain(secret, Succeeded(await Stevedore("webhook", "list", job)).Stdout);

        Succeeded(await Stevedore("webhook", "delete", job, printed["id"]));
        FailedWith(3, await Stevedore("webhook", "delete", job, printed["id"]), "no webhook");
        Assert.Empty(Json(await Stevedore("webhook", "list", job, "-o", "json")).GetProperty("items").EnumerateArray());
    }

    [Fact]
    public async Task WebhookCreate_AsJson_CarriesTheSecret()
    {
        var job = await JobAsync("clihookjson");
        var hook = Json(await Stevedore("webhook", "create", job, "-o", "json"));
        Assert.StartsWith("whsec_", hook.GetProperty("secret").GetString());
        Assert.EndsWith("/v1/hooks/" + hook.GetProperty("id").GetString(), hook.GetProperty("url").GetString());
    }

    [Fact]
    public async Task EventPublish_FansOutToSubscribedJobs_PrintingTheTaskIds()
    {
        var topic = Names.Unique("cliorders");
        var jobs = new[] { await JobAsync("clisub", "--subscribe", topic), await JobAsync("clisub", "--subscribe", topic, "--subscribe", "other") };
        Assert.Equal([topic, "other"], Json(await Stevedore("job", "get", jobs[1], "-o", "json")).GetProperty("subscriptions").EnumerateArray().Select(t => t.GetString()).Order());

        var published = Succeeded(await CliProcess.RunWithInputAsync(server, "{\"order\":42}", "event", "publish", topic, "--payload-file", "-"));
        var ids = published.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, ids.Length);
        Assert.All(ids, id => Assert.Matches("^[0-9a-f]{32}$", id));
        foreach (var id in ids)
        {
            var task = await server.WaitForEndAsync(id);
            Assert.Contains(task.GetProperty("job").GetString(), jobs);
            Assert.Equal("{\"order\":42}", Succeeded(await Stevedore("task", "result", id)).Stdout);
        }

        var again = Json(await Stevedore("event", "publish", topic, "--payload", "x", "--idempotency-key", "e-1", "-o", "json"));
        Assert.Equal(jobs.Order(), again.GetProperty("jobs").EnumerateArray().Select(j => j.GetString()).Order());
        Assert.Equal(again.GetProperty("taskIds").EnumerateArray().Select(t => t.GetString()).Order(),
            Json(await Stevedore("event", "publish", topic, "--payload", "x", "--idempotency-key", "e-1", "-o", "json")).GetProperty("taskIds").EnumerateArray().Select(t => t.GetString()).Order());
        Assert.Empty(Succeeded(await Stevedore("event", "publish", Names.Unique("quiet"))).Stdout);
    }

    [Theory]
    [InlineData("schedule", "create", "x")]
    [InlineData("schedule", "create", "x", "--cron", "0 3 * * *", "--every", "5s")]
    [InlineData("schedule", "create", "x", "--every", "5s", "--tz", "UTC")]
    [InlineData("schedule", "create", "x", "--every", "5 parsecs")]
    [InlineData("schedule", "create", "x", "--every", "5s", "--overlap", "queue")]
    [InlineData("schedule", "create", "x", "--every", "5s", "--start-at", "tomorrow")]
    [InlineData("schedule", "create", "x", "--every", "5s", "--max-runs", "many")]
    [InlineData("schedule", "create", "x", "--every", "5s", "--label", "novalue")]
    [InlineData("schedule", "list", "extra")]
    [InlineData("schedule", "get")]
    [InlineData("webhook", "create")]
    [InlineData("webhook", "delete", "x")]
    [InlineData("webhook", "list", "x", "-o", "yaml")]
    [InlineData("event", "publish")]
    [InlineData("event", "publish", "t", "--payload", "a", "--payload-file", "b")]
    [InlineData("event", "publish", "t", "--payload-file", "/nonexistent/payload.json")]
    public async Task BadCommandLines_ExitWith2_AndOneLine(params string[] args)
    {
        FailedWith(2, await Stevedore(args), "");
    }

    [Fact]
    public async Task ServerRefusals_ExitWith3Or4_NamingTheField()
    {
        var job = await JobAsync("clitrigbad");
        FailedWith(4, await Stevedore("schedule", "create", job, "--cron", "61 * * * *"), "cron");
        FailedWith(4, await Stevedore("schedule", "create", job, "--cron", "0 3 * * *", "--tz", "Mars/Olympus_Mons"), "timeZone");
        FailedWith(4, await Stevedore("schedule", "create", job, "--every", "0"), "everySeconds");
        FailedWith(4, await Stevedore("webhook", "create", job, "--header", "Authorization"), "headers[0]");
        FailedWith(4, await Stevedore("event", "publish", "Bad Topic"), "topic");
        FailedWith(4, await Stevedore("job", "put", Names.Unique("clibadsub"), "--image", StevedoreServer.Image, "--subscribe", "UPPER"), "subscriptions[0]");
        FailedWith(3, await Stevedore("schedule", "create", Names.Unique("nojob"), "--every", "5s"), "no job");
        FailedWith(3, await Stevedore("schedule", "pause", "0123456789abcdef0123456789abcdef"), "no schedule");
        FailedWith(3, await Stevedore("webhook", "list", Names.Unique("nojob")), "no job");
    }
}

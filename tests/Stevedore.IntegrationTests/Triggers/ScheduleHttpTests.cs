using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Stevedore.IntegrationTests.Triggers;

/// <summary>Schedules over real HTTP, firing real containers.</summary>
[Collection(ServerCollection.Name)]
public class ScheduleHttpTests(StevedoreServer server)
{
    private HttpClient Http => server.Http;

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private async Task<string> JobAsync(string prefix)
    {
        var job = Names.Unique(prefix);
        await server.PutJobAsync(job, new { image = StevedoreServer.Image, command = new[] { "sh", "-c", "cat > $STEVEDORE_RESULT_FILE" } });
        return job;
    }

    [Fact]
    public async Task EveryTwoSeconds_WithMaxRuns3_MakesExactlyThreeTasks_ThatRun()
    {
        var job = await JobAsync("every2");
        var created = await Http.PostAsync($"/v1/jobs/{job}/schedules", Json("""{"everySeconds":2,"maxRuns":3,"overlap":"allow","payload":"scheduled","labels":{"team":"ops"}}"""));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var schedule = await created.Content.ReadFromJsonAsync<JsonElement>();
        var id = schedule.GetProperty("id").GetString()!;
        Assert.Equal($"/v1/schedules/{id}", created.Headers.Location!.OriginalString);
        Assert.Equal("active", schedule.GetProperty("state").GetString());
        Assert.Equal(0, schedule.GetProperty("runs").GetInt32());

        var finished = await WaitScheduleAsync(id, s => s.GetProperty("state").GetString() == "finished", 30);

        var tasks = (await Http.GetFromJsonAsync<JsonElement>($"/v1/tasks?job={job}&label=schedule:{id}")).GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(3, tasks.Count);
        Assert.Equal(3, finished.GetProperty("runs").GetInt32());
        Assert.Equal(JsonValueKind.Null, finished.GetProperty("nextRunAt").ValueKind);
        Assert.Equal(tasks[0].GetProperty("id").GetString(), finished.GetProperty("lastTaskId").GetString());
        var occurrences = tasks.Select(t => t.GetProperty("labels").GetProperty("occurrence").GetDateTimeOffset()).Order().ToList();
        Assert.Equal([TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(2)], occurrences.Skip(1).Zip(occurrences, (b, a) => b - a));
        Assert.All(tasks, t => Assert.Equal("ops", t.GetProperty("labels").GetProperty("team").GetString()));
        foreach (var task in tasks)
        {
            var done = await server.WaitForEndAsync(task.GetProperty("id").GetString()!);
            Assert.Equal("succeeded", done.GetProperty("status").GetString());
            Assert.Equal("scheduled", await Http.GetStringAsync($"/v1/tasks/{done.GetProperty("id").GetString()}/result"));
        }
    }

    [Fact]
    public async Task Schedules_ListedByJob_PausedResumedDeleted_AndGoneWithTheirJob()
    {
        var job = await JobAsync("crud");
        var cron = await (await Http.PostAsync($"/v1/jobs/{job}/schedules", Json("""{"cron":"0 3 * * *","timeZone":"Europe/Berlin","overlap":"allow"}"""))).Content.ReadFromJsonAsync<JsonElement>();
        var every = await (await Http.PostAsync($"/v1/jobs/{job}/schedules", Json("""{"everySeconds":3600}"""))).Content.ReadFromJsonAsync<JsonElement>();
        var cronId = cron.GetProperty("id").GetString()!;
        var next = cron.GetProperty("nextRunAt").GetDateTimeOffset();
        Assert.Equal(0, next.Minute);
        Assert.InRange(next.UtcDateTime.Hour, 1, 2); // 03:00 in Berlin
        Assert.Equal("Europe/Berlin", cron.GetProperty("timeZone").GetString());
        Assert.Equal("allow", cron.GetProperty("overlap").GetString());

        var list = await Http.GetFromJsonAsync<JsonElement>($"/v1/schedules?job={job}");
        Assert.Equal([cronId, every.GetProperty("id").GetString()], list.GetProperty("items").EnumerateArray().Select(s => s.GetProperty("id").GetString()));

        var paused = await (await Http.PostAsync($"/v1/schedules/{cronId}/pause", null)).Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(("paused", JsonValueKind.Null), (paused.GetProperty("state").GetString(), paused.GetProperty("nextRunAt").ValueKind));
        var resumed = await (await Http.PostAsync($"/v1/schedules/{cronId}/resume", null)).Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(("active", next), (resumed.GetProperty("state").GetString(), resumed.GetProperty("nextRunAt").GetDateTimeOffset()));

        Assert.Equal(HttpStatusCode.NoContent, (await Http.DeleteAsync($"/v1/schedules/{cronId}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Http.GetAsync($"/v1/schedules/{cronId}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Http.DeleteAsync($"/v1/schedules/{cronId}")).StatusCode);

        Assert.Equal(HttpStatusCode.NoContent, (await Http.DeleteAsync($"/v1/jobs/{job}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Http.GetAsync($"/v1/schedules/{every.GetProperty("id").GetString()}")).StatusCode);
        Assert.Empty((await Http.GetFromJsonAsync<JsonElement>($"/v1/schedules?job={job}")).GetProperty("items").EnumerateArray());
    }

    [Theory]
    [InlineData("""{"cron":"61 * * * *"}""", "cron")]
    [InlineData("""{"cron":"* * * *"}""", "cron")]
    [InlineData("""{"cron":"0 3 * * *","timeZone":"Mars/Olympus_Mons"}""", "timeZone")]
    [InlineData("""{"everySeconds":0}""", "everySeconds")]
    [InlineData("""{"cron":"0 3 * * *","everySeconds":5}""", "everySeconds")]
    [InlineData("""{}""", "cron")]
    [InlineData("""{"everySeconds":5,"endAt":"2001-01-01T00:00:00Z"}""", "endAt")]
    [InlineData("""{"everySeconds":5,"startAt":"tomorrow"}""", "startAt")]
    [InlineData("""{"everySeconds":5,"overlap":"queue"}""", "overlap")]
    [InlineData("""{"everySeconds":5,"maxRuns":0}""", "maxRuns")]
    [InlineData("""{"everySeconds":5,"labels":{"schedule":"mine"}}""", "labels.schedule")]
    [InlineData("""{"everySeconds":5,"priority":7}""", "priority")]
    [InlineData("""{"everySeconds":5,"every":5}""", "every")]
    [InlineData("""{"cron":"0 0 30 2 *"}""", "cron")]
    public async Task InvalidSchedules_Are400_NamingTheField(string body, string field)
    {
        var job = await JobAsync("bad");
        var response = await Http.PostAsync($"/v1/jobs/{job}/schedules", Json(body));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, text);
        var problem = JsonDocument.Parse(text).RootElement;
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"no error on '{field}': {text}");
        Assert.Contains(field, problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task UnknownJobsAndSchedules_Are404_AndListingNeedsAJob()
    {
        Assert.Equal(HttpStatusCode.NotFound, (await Http.PostAsync($"/v1/jobs/{Names.Unique("none")}/schedules", Json("""{"everySeconds":5}"""))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Http.GetAsync("/v1/schedules/0123456789abcdef0123456789abcdef")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Http.PostAsync("/v1/schedules/not-an-id/pause", null)).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await Http.GetAsync("/v1/schedules")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await Http.GetAsync("/v1/schedules?job=x&state=active")).StatusCode);
    }

    private async Task<JsonElement> WaitScheduleAsync(string id, Func<JsonElement, bool> condition, int seconds)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var schedule = await Http.GetFromJsonAsync<JsonElement>($"/v1/schedules/{id}");
            if (condition(schedule))
            {
                return schedule;
            }

            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(seconds), $"schedule {id} is still {schedule}");
            await Task.Delay(100);
        }
    }
}

using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Stevedore.IntegrationTests;

/// <summary>Every endpoint over real HTTP, including the refusals.</summary>
[Collection(ServerCollection.Name)]
public class HttpApiTests(StevedoreServer server)
{
    private HttpClient Http => server.Http;

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static async Task<JsonElement> ProblemAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"expected {(int)status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(body).RootElement;
        Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("detail").GetString()));
        return problem;
    }

    private static async Task AssertFieldErrorAsync(HttpResponseMessage response, string field)
    {
        var problem = await ProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"no error on '{field}': {problem}");
    }

    [Fact]
    public async Task Jobs_CreateUpdateGetListPauseResumeStatsDelete()
    {
        var name = Names.Unique("crud");
        var created = await Http.PutAsync($"/v1/jobs/{name}", Json($$$"""{"image":"{{{StevedoreServer.Image}}}","env":{"A":"1"}}"""));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal($"/v1/jobs/{name}", created.Headers.Location!.OriginalString);
        var job = await created.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(1, job.GetProperty("version").GetInt64());
        Assert.Equal(256, job.GetProperty("memoryMb").GetInt32());
        Assert.Equal(3600, job.GetProperty("timeoutSeconds").GetInt32());

        var updated = await Http.PutAsync($"/v1/jobs/{name}", Json($$"""{"image":"{{StevedoreServer.Image}}","command":["true"],"retries":2}"""));
        Assert.Equal(HttpStatusCode.OK, updated.StatusCode);
        var v2 = await updated.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(2, v2.GetProperty("version").GetInt64());
        Assert.Equal(job.GetProperty("createdAt").GetDateTimeOffset(), v2.GetProperty("createdAt").GetDateTimeOffset());

        // A job fetched with GET can be sent back as it is.
        var fetched = await Http.GetStringAsync($"/v1/jobs/{name}");
        var roundTrip = await Http.PutAsync($"/v1/jobs/{name}", Json(fetched));
        Assert.Equal(HttpStatusCode.OK, roundTrip.StatusCode);
        Assert.Equal(2, (await roundTrip.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("version").GetInt64());

        var list = await Http.GetFromJsonAsync<JsonElement>("/v1/jobs");
        Assert.Contains(list.GetProperty("items").EnumerateArray(), j => j.GetProperty("name").GetString() == name);

        var paused = await Http.PostAsync($"/v1/jobs/{name}/pause", null);
        Assert.True((await paused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("paused").GetBoolean());
        var taskId = await server.EnqueueAsync(name);
        var stats = await Http.GetFromJsonAsync<JsonElement>($"/v1/jobs/{name}/stats");
        Assert.Equal(1, stats.GetProperty("queuedNow").GetInt64());
        Assert.Equal(1, stats.GetProperty("counts").GetProperty("queued").GetInt64());
        Assert.Equal(0, stats.GetProperty("runningNow").GetInt32());
        var resumed = await Http.PostAsync($"/v1/jobs/{name}/resume", null);
        Assert.False((await resumed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("paused").GetBoolean());
        Assert.Equal("succeeded", (await server.WaitForEndAsync(taskId)).GetProperty("status").GetString());
        stats = await Http.GetFromJsonAsync<JsonElement>($"/v1/jobs/{name}/stats");
        Assert.Equal(1, stats.GetProperty("counts").GetProperty("succeeded").GetInt64());

        Assert.Equal(HttpStatusCode.NoContent, (await Http.DeleteAsync($"/v1/jobs/{name}")).StatusCode);
        await ProblemAsync(await Http.GetAsync($"/v1/jobs/{name}"), HttpStatusCode.NotFound);
        await ProblemAsync(await Http.DeleteAsync($"/v1/jobs/{name}"), HttpStatusCode.NotFound);
    }

    [Theory]
    [InlineData("Bad_Name", """{"image":"busybox"}""", "name")]
    [InlineData("ok-name", """{"command":["true"]}""", "image")]
    [InlineData("ok-name", """{"image":"busybox","timeoutSeconds":0}""", "timeoutSeconds")]
    [InlineData("ok-name", """{"image":"busybox","memoryMb":5}""", "memoryMb")]
    [InlineData("ok-name", """{"image":"busybox","cpus":100}""", "cpus")]
    [InlineData("ok-name", """{"image":"busybox","retries":99}""", "retries")]
    [InlineData("ok-name", """{"image":"busybox","priority":7}""", "priority")]
    [InlineData("ok-name", """{"image":"busybox","network":"host"}""", "network")]
    [InlineData("ok-name", """{"image":"busybox","maxConcurrency":"2"}""", "maxConcurrency")]
    [InlineData("ok-name", """{"image":"busybox","bogus":1}""", "bogus")]
    public async Task PutJob_InvalidInput_Is400_NamingTheField(string name, string body, string field) =>
        await AssertFieldErrorAsync(await Http.PutAsync($"/v1/jobs/{name}", Json(body)), field);

    [Theory]
    [InlineData("{\"image\":")]
    [InlineData("[1,2]")]
    [InlineData("")]
    [InlineData("not json")]
    public async Task PutJob_MalformedBody_Is400(string body) =>
        await ProblemAsync(await Http.PutAsync($"/v1/jobs/{Names.Unique("m")}", Json(body)), HttpStatusCode.BadRequest);

    [Fact]
    public async Task EnqueueTask_Returns202WithLocation_AndTheTask()
    {
        var job = Names.Unique("enq");
        await server.PutJobAsync(job, new { image = StevedoreServer.Image, command = new[] { "true" } });

        var response = await Http.PostAsync($"/v1/jobs/{job}/tasks", Json("""{"payload":"x","priority":2,"labels":{"team":"a"}}"""));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var task = await response.Content.ReadFromJsonAsync<JsonElement>();
        var id = task.GetProperty("id").GetString()!;
        Assert.Equal($"/v1/tasks/{id}", response.Headers.Location!.OriginalString);
        Assert.Equal(job, task.GetProperty("job").GetString());
        Assert.Equal(2, task.GetProperty("priority").GetInt32());
        Assert.Equal("a", task.GetProperty("labels").GetProperty("team").GetString());
        var done = await server.WaitForEndAsync(id);
        Assert.Equal("succeeded", done.GetProperty("status").GetString());
        foreach (var field in new[] { "id", "job", "jobVersion", "status", "priority", "attempt", "maxAttempts", "exitCode", "error", "createdAt", "startedAt", "finishedAt", "runAfter", "labels", "node", "retryOf", "attempts" })
        {
            Assert.True(done.TryGetProperty(field, out _), $"task has no '{field}'");
        }
    }

    [Fact]
    public async Task EnqueueTask_WithoutBody_IsAccepted()
    {
        var job = Names.Unique("nobody");
        await server.PutJobAsync(job, new { image = StevedoreServer.Image, command = new[] { "sh", "-c", "printf '[%s][%s]' \"$(cat)\" \"$(cat $STEVEDORE_PAYLOAD_FILE)\"" }, priority = 1 });

        var response = await Http.PostAsync($"/v1/jobs/{job}/tasks", null);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var task = await response.Content.ReadFromJsonAsync<JsonElement>();
        var id = task.GetProperty("id").GetString()!;
        Assert.Equal($"/v1/tasks/{id}", response.Headers.Location!.OriginalString);
        Assert.Equal(job, task.GetProperty("job").GetString());
        Assert.Equal(1, task.GetProperty("priority").GetInt32());
        Assert.Equal(JsonValueKind.Null, task.GetProperty("runAfter").ValueKind);
        // No body is an empty payload: nothing on standard input, an empty payload file.
        Assert.Equal("succeeded", (await server.WaitForEndAsync(id)).GetProperty("status").GetString());
        Assert.Equal("[][]", await Http.GetStringAsync($"/v1/tasks/{id}/log"));
    }

    [Fact]
    public async Task EnqueueTask_IdempotencyKey_Returns200AndTheSameTask()
    {
        var job = Names.Unique("idem");
        await server.PutJobAsync(job, new { image = StevedoreServer.Image, command = new[] { "true" } });

        var first = await Http.PostAsync($"/v1/jobs/{job}/tasks", Json("""{"idempotencyKey":"abc"}"""));
        var second = await Http.PostAsync($"/v1/jobs/{job}/tasks", Json("""{"idempotencyKey":"abc"}"""));

        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal(
            (await first.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString(),
            (await second.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString());
    }

    [Theory]
    [InlineData("""{"priority":3}""", "priority")]
    [InlineData("""{"delaySeconds":604801}""", "delaySeconds")]
    [InlineData("""{"timeoutSeconds":-5}""", "timeoutSeconds")]
    [InlineData("""{"labels":{"a":1}}""", "labels.a")]
    [InlineData("""{"payload":1,"nope":2}""", "nope")]
    public async Task EnqueueTask_InvalidInput_Is400(string body, string field)
    {
        var job = Names.Unique("bad");
        await server.PutJobAsync(job, new { image = StevedoreServer.Image });
        await AssertFieldErrorAsync(await Http.PostAsync($"/v1/jobs/{job}/tasks", Json(body)), field);
    }

    [Fact]
    public async Task EnqueueTask_OversizedPayload_Is413()
    {
        var job = Names.Unique("big");
        await server.PutJobAsync(job, new { image = StevedoreServer.Image });
        var payload = new string('a', 1024 * 1024 + 1);

        await ProblemAsync(await Http.PostAsJsonAsync($"/v1/jobs/{job}/tasks", new { payload }), HttpStatusCode.RequestEntityTooLarge);
        // A body far past any limit is cut off with 413 too, not read whole.
        using var huge = new HttpRequestMessage(HttpMethod.Post, $"/v1/jobs/{job}/tasks") { Content = Json(new string(' ', 16 * 1024 * 1024)) };
        huge.Headers.ExpectContinue = true;
        await ProblemAsync(await Http.SendAsync(huge), HttpStatusCode.RequestEntityTooLarge);
    }

    [Fact]
    public async Task EnqueueTask_UnknownJob_Is404()
    {
        await ProblemAsync(await Http.PostAsync($"/v1/jobs/{Names.Unique("ghost")}/tasks", Json("{}")), HttpStatusCode.NotFound);
        await ProblemAsync(await Http.PostAsync("/v1/jobs/Not A Name/tasks", Json("{}")), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task BatchEnqueue_Returns202WithIdsInOrder_AndChecksEveryItem()
    {
        var job = Names.Unique("batch");
        await server.PutJobAsync(job, new { image = StevedoreServer.Image, command = new[] { "sh", "-c", "cat > $STEVEDORE_RESULT_FILE" } });

        var response = await Http.PostAsync($"/v1/jobs/{job}/tasks:batch", Json("""{"tasks":[{"payload":"0"},{"payload":"1"},{"payload":"2"}]}"""));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var ids = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("ids").EnumerateArray().Select(e => e.GetString()!).ToList();
        Assert.Equal(3, ids.Count);
        for (var i = 0; i < ids.Count; i++)
        {
            await server.WaitForEndAsync(ids[i]);
            Assert.Equal(i.ToString(System.Globalization.CultureInfo.InvariantCulture), await Http.GetStringAsync($"/v1/tasks/{ids[i]}/result"));
        }

        await AssertFieldErrorAsync(await Http.PostAsync($"/v1/jobs/{job}/tasks:batch", Json("""{"tasks":[{"payload":1},{"priority":9}]}""")), "tasks[1].priority");
        await AssertFieldErrorAsync(await Http.PostAsync($"/v1/jobs/{job}/tasks:batch", Json("""{"items":[]}""")), "tasks");
        await AssertFieldErrorAsync(await Http.PostAsync($"/v1/jobs/{job}/tasks:batch", Json("""{"tasks":[]}""")), "tasks");
        var tooMany = "{\"tasks\":[" + string.Join(',', Enumerable.Repeat("{}", 1001)) + "]}";
        await AssertFieldErrorAsync(await Http.PostAsync($"/v1/jobs/{job}/tasks:batch", Json(tooMany)), "tasks");
    }

    [Fact]
    public async Task BatchEnqueue_UnknownJob404_OversizeItem413_AndABadItemEnqueuesNothing()
    {
        await ProblemAsync(await Http.PostAsync($"/v1/jobs/{Names.Unique("ghost")}/tasks:batch", Json("""{"tasks":[{}]}""")), HttpStatusCode.NotFound);

        var job = Names.Unique("batchbad");
        await server.PutJobAsync(job, new { image = StevedoreServer.Image, command = new[] { "true" } });
        var oversize = JsonSerializer.Serialize(new { tasks = new object[] { new { payload = "fine" }, new { payload = new string('a', 1024 * 1024 + 1) } } });
        var tooLarge = await ProblemAsync(await Http.PostAsync($"/v1/jobs/{job}/tasks:batch", Json(oversize)), HttpStatusCode.RequestEntityTooLarge);
        Assert.StartsWith("tasks[1].payload is 1048577 bytes", tooLarge.GetProperty("detail").GetString());
        await AssertFieldErrorAsync(
            await Http.PostAsync($"/v1/jobs/{job}/tasks:batch", Json("""{"tasks":[{"payload":"ok"},{"payload":"ok"},{"delaySeconds":-1}]}""")), "tasks[2].delaySeconds");

        // All or none: the good items of a refused batch were not enqueued.
        var listed = await Http.GetFromJsonAsync<JsonElement>($"/v1/tasks?job={job}");
        Assert.Equal(0, listed.GetProperty("items").GetArrayLength());
        var stats = await Http.GetFromJsonAsync<JsonElement>($"/v1/jobs/{job}/stats");
        Assert.Equal(0, stats.GetProperty("queuedNow").GetInt64());
    }

    [Fact]
    public async Task ListTasks_FiltersByJobStatusAndLabel_NewestFirst_WithCursorPaging()
    {
        var job = Names.Unique("list");
        await server.PutJobAsync(job, new { image = StevedoreServer.Image, command = new[] { "true" } });
        await Http.PostAsync($"/v1/jobs/{job}/pause", null);
        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            ids.Add(await server.EnqueueAsync(job, new { labels = new Dictionary<string, string> { ["n"] = (i % 2).ToString(System.Globalization.CultureInfo.InvariantCulture) } }));
        }

        var page1 = await Http.GetFromJsonAsync<JsonElement>($"/v1/tasks?job={job}&limit=2");
        var page1Ids = page1.GetProperty("items").EnumerateArray().Select(t => t.GetProperty("id").GetString()).ToList();
        Assert.Equal([ids[4], ids[3]], page1Ids);
        var cursor = page1.GetProperty("nextCursor").GetString();
        var page2 = await Http.GetFromJsonAsync<JsonElement>($"/v1/tasks?job={job}&limit=2&cursor={cursor}");
        Assert.Equal([ids[2], ids[1]], page2.GetProperty("items").EnumerateArray().Select(t => t.GetProperty("id").GetString()).ToList());
        var page3 = await Http.GetFromJsonAsync<JsonElement>($"/v1/tasks?job={job}&limit=2&cursor={page2.GetProperty("nextCursor").GetString()}");
        Assert.Equal([ids[0]], page3.GetProperty("items").EnumerateArray().Select(t => t.GetProperty("id").GetString()).ToList());
        Assert.Equal(JsonValueKind.Null, page3.GetProperty("nextCursor").ValueKind);

        var labelled = await Http.GetFromJsonAsync<JsonElement>($"/v1/tasks?job={job}&label=n:1");
        Assert.Equal([ids[3], ids[1]], labelled.GetProperty("items").EnumerateArray().Select(t => t.GetProperty("id").GetString()).ToList());
        var queued = await Http.GetFromJsonAsync<JsonElement>($"/v1/tasks?job={job}&status=queued");
        Assert.Equal(5, queued.GetProperty("items").GetArrayLength());
        var succeeded = await Http.GetFromJsonAsync<JsonElement>($"/v1/tasks?job={job}&status=succeeded");
        Assert.Equal(0, succeeded.GetProperty("items").GetArrayLength());

        await AssertFieldErrorAsync(await Http.GetAsync("/v1/tasks?status=done"), "status");
        await AssertFieldErrorAsync(await Http.GetAsync("/v1/tasks?limit=0"), "limit");
        await AssertFieldErrorAsync(await Http.GetAsync("/v1/tasks?cursor=zzz"), "cursor");
        await AssertFieldErrorAsync(await Http.GetAsync("/v1/tasks?label=nocolon"), "label");
        await AssertFieldErrorAsync(await Http.GetAsync("/v1/tasks?jobb=x"), "jobb");
        await Http.DeleteAsync($"/v1/jobs/{job}");
    }

    [Fact]
    public async Task RetryEndpoint_MakesANewTaskWithTheSamePayload()
    {
        var job = Names.Unique("again");
        await server.PutJobAsync(job, new { image = StevedoreServer.Image, command = new[] { "sh", "-c", "cat > $STEVEDORE_RESULT_FILE" } });
        var id = await server.EnqueueAsync(job, new { payload = "same" });
        await server.WaitForEndAsync(id);

        var response = await Http.PostAsync($"/v1/tasks/{id}/retry", null);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var retry = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(id, retry.GetProperty("retryOf").GetString());
        var retryId = retry.GetProperty("id").GetString()!;
        Assert.NotEqual(id, retryId);
        await server.WaitForEndAsync(retryId);
        Assert.Equal("same", await Http.GetStringAsync($"/v1/tasks/{retryId}/result"));
    }

    [Fact]
    public async Task RetryOfAnUnfinishedTask_Is409()
    {
        var job = Names.Unique("busy");
        await server.PutJobAsync(job, new { image = StevedoreServer.Image });
        await Http.PostAsync($"/v1/jobs/{job}/pause", null);
        var id = await server.EnqueueAsync(job);
        await ProblemAsync(await Http.PostAsync($"/v1/tasks/{id}/retry", null), HttpStatusCode.Conflict);
        Assert.Equal(HttpStatusCode.OK, (await Http.PostAsync($"/v1/tasks/{id}/cancel", null)).StatusCode);
    }

    [Fact]
    public async Task Result_Is404_WhenTheJobWroteNone()
    {
        var job = Names.Unique("noresult");
        await server.PutJobAsync(job, new { image = StevedoreServer.Image, command = new[] { "true" } });
        var id = await server.EnqueueAsync(job);
        await server.WaitForEndAsync(id);
        await ProblemAsync(await Http.GetAsync($"/v1/tasks/{id}/result"), HttpStatusCode.NotFound);
    }

    [Theory]
    [InlineData("/v1/tasks/0123456789abcdef0123456789abcdef")]
    [InlineData("/v1/tasks/not-an-id")]
    [InlineData("/v1/tasks/0123456789abcdef0123456789abcdef/log")]
    [InlineData("/v1/tasks/0123456789abcdef0123456789abcdef/result")]
    [InlineData("/v1/jobs/missing-job")]
    [InlineData("/v1/jobs/missing-job/stats")]
    [InlineData("/v1/nothing-here")]
    public async Task UnknownThings_Are404(string path) =>
        await ProblemAsync(await Http.GetAsync(path), HttpStatusCode.NotFound);

    [Theory]
    [InlineData("/v1/tasks/0123456789abcdef0123456789abcdef/cancel")]
    [InlineData("/v1/tasks/0123456789abcdef0123456789abcdef/retry")]
    [InlineData("/v1/jobs/missing-job/pause")]
    [InlineData("/v1/jobs/missing-job/resume")]
    public async Task UnknownThings_Are404_ForPostsToo(string path) =>
        await ProblemAsync(await Http.PostAsync(path, null), HttpStatusCode.NotFound);

    [Fact]
    public async Task Log_InvalidQuery_Is400()
    {
        var job = Names.Unique("logq");
        await server.PutJobAsync(job, new { image = StevedoreServer.Image, command = new[] { "true" } });
        var id = await server.EnqueueAsync(job);
        await AssertFieldErrorAsync(await Http.GetAsync($"/v1/tasks/{id}/log?stream=both"), "stream");
        await AssertFieldErrorAsync(await Http.GetAsync($"/v1/tasks/{id}/log?follow=maybe"), "follow");
    }

    [Fact]
    public async Task Healthz_SaysOk_WhenSiloAndDockerAnswer()
    {
        // One check allows itself 3 s: on a busy machine one may miss that, so wait for it, with a deadline.
        await server.WaitHealthyAsync();
        var response = await Http.GetAsync("/healthz");
        Assert.Equal("ok\n", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Dashboard_IsServed()
    {
        var response = await Http.GetAsync("/dashboard/");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType!.MediaType);
        Assert.Contains("<title>Orleans Dashboard</title>", await response.Content.ReadAsStringAsync());
    }
}

using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Stevedore.IntegrationTests.Security;

/// <summary>A job's <c>maxQueued</c> caps how many of its tasks wait: 429 with Retry-After beyond, batches all or none.</summary>
[Collection(ServerCollection.Name)]
public class MaxQueuedTests(StevedoreServer server)
{
    private HttpClient Http => server.Http;

    private async Task<long> QueuedAsync(string job) =>
        (await Http.GetFromJsonAsync<JsonElement>($"/v1/jobs/{job}/stats")).GetProperty("queuedNow").GetInt64();

    [Fact]
    public async Task ConcurrentEnqueues_NeverPassMaxQueued_AndTheRestGet429WithRetryAfter()
    {
        var job = Names.Unique("capped");
        var created = await server.PutJobAsync(job, new { image = StevedoreServer.Image, command = new[] { "true" }, maxQueued = 5 });
        Assert.Equal(5, created.GetProperty("maxQueued").GetInt32());
        await Http.PostAsync($"/v1/jobs/{job}/pause", null);

        var answers = await Task.WhenAll(Enumerable.Range(0, 40).Select(_ => Http.PostAsync($"/v1/jobs/{job}/tasks", null)));

        Assert.Equal(5, answers.Count(a => a.StatusCode == HttpStatusCode.Accepted));
        var refused = answers.Where(a => a.StatusCode != HttpStatusCode.Accepted).ToList();
        Assert.All(refused, a => Assert.Equal(HttpStatusCode.TooManyRequests, a.StatusCode));
        Assert.All(refused, a => Assert.NotNull(a.Headers.RetryAfter?.Delta));
        var problem = await InvalidInputTests.ProblemAsync(refused[0], HttpStatusCode.TooManyRequests);
        Assert.Contains("maxQueued 5", problem.GetProperty("detail").GetString());
        Assert.Equal(5, await QueuedAsync(job));

        // A retry of a task is an enqueue too: once one queued task is cancelled (the count catches up within a
        // second), there is room for exactly one.
        var id = (await answers.First(a => a.StatusCode == HttpStatusCode.Accepted).Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString();
        await Http.PostAsync($"/v1/tasks/{id}/cancel", null);
        await Wait.UntilAsync(async () => (await Http.PostAsync($"/v1/tasks/{id}/retry", null)).StatusCode == HttpStatusCode.Accepted,
            "a retry to fit once a queued task was cancelled");
        Assert.Equal(HttpStatusCode.TooManyRequests, (await Http.PostAsync($"/v1/tasks/{id}/retry", null)).StatusCode);
        Assert.Equal(5, await QueuedAsync(job));
    }

    [Fact]
    public async Task ABatch_IsAllOrNone_UnderMaxQueued()
    {
        var job = Names.Unique("capped-batch");
        await server.PutJobAsync(job, new { image = StevedoreServer.Image, command = new[] { "true" }, maxQueued = 3 });
        await Http.PostAsync($"/v1/jobs/{job}/pause", null);
        await server.EnqueueAsync(job);

        var tooMany = await Http.PostAsJsonAsync($"/v1/jobs/{job}/tasks:batch", new { tasks = new[] { new { }, new { }, new { } } });
        Assert.Equal(HttpStatusCode.TooManyRequests, tooMany.StatusCode);
        Assert.NotNull(tooMany.Headers.RetryAfter);
        Assert.Equal(1, await QueuedAsync(job));

        var fits = await Http.PostAsJsonAsync($"/v1/jobs/{job}/tasks:batch", new { tasks = new[] { new { }, new { } } });
        Assert.Equal(HttpStatusCode.Accepted, fits.StatusCode);
        Assert.Equal(3, await QueuedAsync(job));

        var never = await Http.PostAsJsonAsync($"/v1/jobs/{job}/tasks:batch", new { tasks = Enumerable.Repeat(new { }, 4).ToArray() });
        var problem = await InvalidInputTests.ProblemAsync(never, HttpStatusCode.TooManyRequests);
        Assert.Contains("send fewer per call", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task RoomComesBack_AsTasksStart()
    {
        var job = Names.Unique("capped-run");
        await server.PutJobAsync(job, new { image = StevedoreServer.Image, command = new[] { "true" }, maxQueued = 2 });
        await Http.PostAsync($"/v1/jobs/{job}/pause", null);
        var first = new[] { await server.EnqueueAsync(job), await server.EnqueueAsync(job) };
        Assert.Equal(HttpStatusCode.TooManyRequests, (await Http.PostAsync($"/v1/jobs/{job}/tasks", null)).StatusCode);

        await Http.PostAsync($"/v1/jobs/{job}/resume", null);
        foreach (var id in first)
        {
            Assert.Equal("succeeded", (await server.WaitForEndAsync(id)).GetProperty("status").GetString());
        }

        // The job grain counts its queue again (at most once a second) when an enqueue does not fit its count.
        await Wait.UntilAsync(async () => (await Http.PostAsync($"/v1/jobs/{job}/tasks", null)).StatusCode == HttpStatusCode.Accepted,
            "an enqueue to be taken once the queued tasks had run");
    }

    [Fact]
    public async Task MaxQueued_IsPartOfTheJob_AndChangingItBumpsTheVersion()
    {
        var job = Names.Unique("capped-def");
        await server.PutJobAsync(job, new { image = StevedoreServer.Image });
        var changed = await server.PutJobAsync(job, new { image = StevedoreServer.Image, maxQueued = 10 });
        Assert.Equal(2, changed.GetProperty("version").GetInt64());
        var fetched = await Http.GetFromJsonAsync<JsonElement>($"/v1/jobs/{job}");
        Assert.Equal(10, fetched.GetProperty("maxQueued").GetInt32());
        Assert.Equal(0, (await server.PutJobAsync(job, new { image = StevedoreServer.Image })).GetProperty("maxQueued").GetInt32());
    }
}

using System.Diagnostics;
using System.Net;

namespace Stevedore.IntegrationTests;

/// <summary>/metrics after a known workload of real containers shows exactly what happened.</summary>
[Collection(ServerCollection.Name)]
public class MetricsTests(StevedoreServer server)
{
    private async Task<Prometheus> ScrapeUntilAsync(Func<Prometheus, bool> done, string what)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var response = await server.Http.GetAsync("/metrics");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var scrape = new Prometheus(await response.Content.ReadAsStringAsync());
            if (done(scrape))
            {
                return scrape;
            }

            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(30), $"/metrics did not show {what} within 30 s:\n{scrape.Text}");
            await Task.Delay(200);
        }
    }

    [Fact]
    public async Task Scrape_AfterAKnownWorkload_ShowsTheExactCounts()
    {
        var job = Names.Unique("metrics");
        // "fail" exits 3 and is retried once: two attempts, one failed task.
        await server.PutJobAsync(job, new
        {
            image = StevedoreServer.Image,
            command = new[] { "sh", "-c", "echo hello; test \"$(cat)\" = fail && exit 3; exit 0" },
            retries = 1,
            retryDelaySeconds = 0,
        });
        var ids = new List<string>();
        foreach (var payload in (string[])["a", "b", "c", "fail"])
        {
            ids.Add(await server.EnqueueAsync(job, new { payload }));
        }

        foreach (var id in ids)
        {
            await server.WaitForEndAsync(id);
        }

        var scrape = await ScrapeUntilAsync(s => s.Value("stevedore_tasks_finished_total", ("job", job), ("outcome", "failed")) == 1, "the failed task");

        Assert.Equal(4, scrape.Value("stevedore_tasks_enqueued_total", ("job", job)));
        Assert.Equal(5, scrape.Value("stevedore_tasks_started_total", ("job", job)));
        Assert.Equal(3, scrape.Value("stevedore_tasks_finished_total", ("job", job), ("outcome", "succeeded")));
        Assert.Null(scrape.Value("stevedore_tasks_finished_total", ("job", job), ("outcome", "timed_out")));
        Assert.Equal(5, scrape.Value("stevedore_dispatch_latency_seconds_count", ("job", job)));
        Assert.Equal(3, scrape.Value("stevedore_task_duration_seconds_count", ("job", job), ("outcome", "succeeded")));
        Assert.Equal(2, scrape.Value("stevedore_task_duration_seconds_count", ("job", job), ("outcome", "failed")));
        Assert.True(scrape.Value("stevedore_task_duration_seconds_sum", ("job", job), ("outcome", "succeeded")) > 0);
        Assert.True(scrape.Value("stevedore_store_duration_seconds_count", ("store", "tasks"), ("operation", "add")) >= 4);
        Assert.Contains(scrape.Series("orleans_catalog_activation_created_total"), s => s.Value > 0);
    }

    [Fact]
    public async Task Scrape_ShowsQueueDepthAndAge_OfAPausedJob()
    {
        var job = Names.Unique("depth");
        await server.PutJobAsync(job, new { image = StevedoreServer.Image, command = new[] { "true" } });
        Assert.True((await server.Http.PostAsync($"/v1/jobs/{job}/pause", null)).IsSuccessStatusCode);
        for (var i = 0; i < 3; i++)
        {
            await server.EnqueueAsync(job);
        }

        var scrape = await ScrapeUntilAsync(s => s.Value("stevedore_queue_depth", ("job", job)) == 3, "a depth of 3");
        Assert.True(scrape.Value("stevedore_queue_oldest_age_seconds", ("job", job)) >= 0);

        Assert.True((await server.Http.PostAsync($"/v1/jobs/{job}/resume", null)).IsSuccessStatusCode);
        await ScrapeUntilAsync(s => s.Value("stevedore_queue_depth", ("job", job)) == 0, "the queue drained");
    }
}

/// <summary>A server with an admin token whose /metrics is open (Stevedore:Metrics:Anonymous).</summary>
public sealed class AnonymousMetricsServer : StevedoreServer
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Stevedore:Auth:AdminToken"] = TokenServer.Token,
        ["Stevedore:Metrics:Anonymous"] = "true",
        ["Stevedore:Worker:Slots"] = "1",
    };
}

public class MetricsAuthTests(TokenServer tokenServer, AnonymousMetricsServer anonymousServer) : IClassFixture<TokenServer>, IClassFixture<AnonymousMetricsServer>
{
    [Fact]
    public async Task Metrics_NeedTheAdminToken_LikeTheApi()
    {
        Assert.Equal(HttpStatusCode.Unauthorized, (await tokenServer.Http.GetAsync("/metrics")).StatusCode);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", TokenServer.Token);
        var response = await tokenServer.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("# TYPE", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Metrics_AreOpen_WhenConfiguredAnonymous_WhileTheApiStillNeedsTheToken()
    {
        Assert.Equal(HttpStatusCode.OK, (await anonymousServer.Http.GetAsync("/metrics")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymousServer.Http.GetAsync("/v1/jobs")).StatusCode);
    }
}

using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Stevedore.Application;
using Stevedore.Host.Hosting;
using Stevedore.Storage;

namespace Stevedore.IntegrationTests;

/// <summary>
/// A silo's cache of grain locations stays bounded however many tasks came and went: Orleans' default holds a
/// million, and its size gauge counts them one by one on every metrics collection (the dashboard's is every second).
/// Tasks had a grain each until 2026-11-28; the bound still keeps any grain made per item (a schedule, a webhook) from
/// filling it.
/// </summary>
public sealed class DirectoryCacheTests
{
    [Fact]
    public async Task AfterMoreTasksThanTheCacheHolds_TheSilosDirectoryCacheStaysBounded()
    {
        WebApplication? app = null;
        app = await Names.StartOnFreePortsAsync(async () =>
        {
            app = await StevedoreHost.BuildAsync([], b => b.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Kestrel:Endpoints:Http:Url"] = $"http://127.0.0.1:{Names.FreePort()}",
                ["Kestrel:Endpoints:Grpc:Url"] = $"http://127.0.0.1:{Names.FreePort()}",
                ["Orleans:ClusterId"] = Names.Unique("directory"),
                ["Orleans:SiloPort"] = $"{Names.FreePort()}",
                ["Orleans:GatewayPort"] = $"{Names.FreePort()}",
                ["Stevedore:Worker:Driver"] = "fake",
                ["Stevedore:Worker:Slots"] = "64",
                ["Logging:LogLevel:Default"] = "Warning",
            }));
            await app.StartAsync();
            return app;
        }, async () =>
        {
            if (app is not null)
            {
                await app.DisposeAsync();
            }
        });
        await using var _ = app;

        var jobs = app.Services.GetRequiredService<JobService>();
        var tasks = app.Services.GetRequiredService<TaskService>();
        var store = app.Services.GetRequiredService<ITaskStore>();
        Assert.True((await jobs.PutAsync("many", new JobDraft { Image = "fake/ok" })).Ok);
        var n = SiloSetup.DirectoryCacheSize + 10_000;
        for (var done = 0; done < n; done += 1000)
        {
            Assert.True((await tasks.EnqueueBatchAsync("many", Enumerable.Repeat(new TaskDraft(), 1000).ToList())).Ok);
        }

        await Wait.UntilAsync(async () => (await store.CountByStatusAsync("many"))[TaskRunStatus.Succeeded] == n,
            $"all {n} tasks to succeed", TimeSpan.FromMinutes(3));

        using var http = new HttpClient { BaseAddress = new Uri(app.Configuration["Kestrel:Endpoints:Http:Url"]!) };
        var scrape = new Prometheus(await http.GetStringAsync("/metrics"));
        // Orleans may report more than one cache (a series each, same labels): each, and all of them, stay bounded.
        var cached = scrape.Series("orleans_directory_cache_size").Select(s => s.Value).ToList();
        Assert.NotEmpty(cached);
        Assert.All(cached, c => Assert.InRange(c, 0, SiloSetup.DirectoryCacheSize));
        Assert.InRange(cached.Sum(), 1, SiloSetup.DirectoryCacheSize);
    }
}

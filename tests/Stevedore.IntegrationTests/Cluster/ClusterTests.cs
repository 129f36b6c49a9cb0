using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Docker.DotNet.Models;
using Stevedore.IntegrationTests.Storage;
using Xunit.Abstractions;

namespace Stevedore.IntegrationTests.Cluster;

[CollectionDefinition(Name)]
public sealed class ClusterCollection
{
    public const string Name = "multi-process cluster";
}

/// <summary>Several hosts in separate processes on one PostgreSQL and one Docker Engine; silos die with SIGKILL.</summary>
[Collection(ClusterCollection.Name)]
public class ClusterTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly TestDatabase _db = new();
    private readonly List<SiloProcess> _silos = [];
    private readonly string _clusterId = "c-" + Guid.NewGuid().ToString("N")[..8];

    public async Task InitializeAsync()
    {
        await Scripts.RunAsync("ensure_docker && ensure_busybox_image " + StevedoreServer.Image);
        await _db.InitializeAsync();
    }

    public async Task DisposeAsync()
    {
        foreach (var silo in _silos)
        {
            await silo.DisposeAsync();
        }

        await _db.DisposeAsync();
    }

    private async Task<SiloProcess> StartSiloAsync(params string[] extra)
    {
        var silo = await SiloProcess.StartAsync(_db.ConnectionString, _clusterId, extra);
        _silos.Add(silo);
        return silo;
    }

    private static object Sh(string script, int maxConcurrency = 0) =>
        new { image = StevedoreServer.Image, command = new[] { "sh", "-c", script }, maxConcurrency };

    private static async Task<string> WaitRunningOnAsync(SiloProcess via, IReadOnlyList<string> ids, string node)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            foreach (var id in ids)
            {
                var task = await via.GetTaskAsync(id);
                if (task.GetProperty("status").GetString() == "running" && task.GetProperty("node").GetString() == node)
                {
                    return id;
                }
            }

            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(60), $"no task ran on {node}");
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task KillingASilo_LosesNoTask_TheInterruptedOnesRunAgainElsewhere()
    {
        var a = await StartSiloAsync();
        var b = await StartSiloAsync();
        var job = Names.Unique("survive");
        await a.PutJobAsync(job, Sh("sleep 2; echo done $STEVEDORE_ATTEMPT"));
        var ids = new List<string>();
        for (var i = 0; i < 8; i++)
        {
            ids.Add(await (i % 2 == 0 ? a : b).EnqueueAsync(job));
        }

        var interrupted = await WaitRunningOnAsync(b, ids, a.Node);
        a.Kill();
        var killedAt = DateTimeOffset.UtcNow;

        var tasks = await b.WaitAllEndedAsync(ids);

        Assert.All(tasks, t => Assert.Equal("succeeded", t.GetProperty("status").GetString()));
        var rerun = tasks.Where(t => t.GetProperty("attempts").GetArrayLength() == 2).ToList();
        Assert.Contains(rerun, t => t.GetProperty("id").GetString() == interrupted);
        foreach (var task in rerun)
        {
            var attempts = task.GetProperty("attempts");
            Assert.Equal(a.Node, attempts[0].GetProperty("node").GetString());
            Assert.Contains("worker lost", attempts[0].GetProperty("error").GetString());
            Assert.Equal(b.Node, attempts[1].GetProperty("node").GetString());
            output.WriteLine($"task {task.GetProperty("id")} ran again {(attempts[1].GetProperty("startedAt").GetDateTimeOffset() - killedAt).TotalSeconds:0.0} s after the kill");
        }

        Assert.All(tasks.Where(t => t.GetProperty("attempts").GetArrayLength() == 1), t => Assert.Equal(1, t.GetProperty("attempt").GetInt32()));
        var log = await b.Http.GetStringAsync($"/v1/tasks/{interrupted}/log");
        Assert.Contains("done 2", log);
        var left = await ContainersAsync(job, runningOnly: false);
        Assert.Empty(left);
    }

    [Fact]
    public async Task WholeClusterRestart_KeepsJobsFinishedTasksLogsAndDelayedTasks()
    {
        var a = await StartSiloAsync();
        var job = Names.Unique("durable");
        await a.PutJobAsync(job, Sh("echo hello $STEVEDORE_ATTEMPT"));
        var finished = await a.EnqueueAsync(job);
        await a.WaitAllEndedAsync([finished]);
        var delayed = await a.EnqueueAsync(job, new { delaySeconds = 8 });
        var runAfter = (await a.GetTaskAsync(delayed)).GetProperty("runAfter").GetDateTimeOffset();
        var queuedWhilePaused = Names.Unique("paused");
        await a.PutJobAsync(queuedWhilePaused, Sh("echo later"));
        await a.Http.PostAsync($"/v1/jobs/{queuedWhilePaused}/pause", null);
        var waiting = await a.EnqueueAsync(queuedWhilePaused);
        a.Kill();

        var c = await StartSiloAsync();
        // Worker nodes keep their state through Orleans' ADO.NET persistence provider on the same database.
        await using (var rows = _db.DataSource.CreateCommand("SELECT count(*) FROM orleans_storage WHERE payload_binary IS NOT NULL"))
        {
            Assert.True((long)(await rows.ExecuteScalarAsync())! >= 1, "no worker node state was stored");
        }

        var jobJson = await c.Http.GetFromJsonAsync<JsonElement>($"/v1/jobs/{job}");
        Assert.Equal(1, jobJson.GetProperty("version").GetInt64());
        Assert.Equal("succeeded", (await c.GetTaskAsync(finished)).GetProperty("status").GetString());
        Assert.Equal("hello 1\n", await c.Http.GetStringAsync($"/v1/tasks/{finished}/log"));
        var ran = (await c.WaitAllEndedAsync([delayed])).Single();
        Assert.Equal("succeeded", ran.GetProperty("status").GetString());
        Assert.True(ran.GetProperty("startedAt").GetDateTimeOffset() >= runAfter);
        Assert.Equal(1, ran.GetProperty("attempt").GetInt32());
        var stillWaiting = await c.GetTaskAsync(waiting);
        Assert.True(stillWaiting.GetProperty("status").GetString() == "queued", $"{stillWaiting}\n{c.Output}");
        await c.Http.PostAsync($"/v1/jobs/{queuedWhilePaused}/resume", null);
        Assert.Equal("succeeded", (await c.WaitAllEndedAsync([waiting])).Single().GetProperty("status").GetString());
    }

    [Fact]
    public async Task MaxConcurrencyOne_IsNeverExceeded_WhileASiloIsKilled()
    {
        var a = await StartSiloAsync();
        var b = await StartSiloAsync();
        var job = Names.Unique("single");
        await a.PutJobAsync(job, Sh("sleep 1", maxConcurrency: 1));
        var ids = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            ids.Add(await a.EnqueueAsync(job));
        }

        using var stop = new CancellationTokenSource();
        var maxSeen = 0;
        var samples = 0;
        var sampler = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var running = (await ContainersAsync(job, runningOnly: true)).Count;
                maxSeen = Math.Max(maxSeen, running);
                samples++;
                await Task.Delay(20);
            }
        });

        await WaitRunningOnAsync(b, ids, a.Node);
        a.Kill();
        var tasks = await b.WaitAllEndedAsync(ids);
        await stop.CancelAsync();
        await sampler;

        Assert.All(tasks, t => Assert.Equal("succeeded", t.GetProperty("status").GetString()));
        Assert.True(samples > 50, $"only {samples} samples");
        Assert.Equal(1, maxSeen);
        // The attempts the API records never overlap either.
        var intervals = tasks.SelectMany(t => t.GetProperty("attempts").EnumerateArray())
            .Select(x => (Start: x.GetProperty("startedAt").GetDateTimeOffset(), End: x.GetProperty("finishedAt").GetDateTimeOffset()))
            .OrderBy(x => x.Start).ToList();
        for (var i = 1; i < intervals.Count; i++)
        {
            Assert.True(intervals[i].Start >= intervals[i - 1].End, $"attempt starting {intervals[i].Start:O} overlaps one ending {intervals[i - 1].End:O}");
        }
    }

    private async Task<IList<ContainerListResponse>> ContainersAsync(string job, bool runningOnly)
    {
        using var docker = new Docker.DotNet.DockerClientConfiguration(new Uri("unix:///var/run/docker.sock")).CreateClient();
        var filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [$"stevedore.job={job}"] = true } };
        if (runningOnly)
        {
            filters["status"] = new Dictionary<string, bool> { ["running"] = true };
        }

        return await docker.Containers.ListContainersAsync(new ContainersListParameters { All = !runningOnly, Filters = filters });
    }
}

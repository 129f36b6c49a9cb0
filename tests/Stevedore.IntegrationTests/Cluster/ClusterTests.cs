using System.Net.Http.Json;
using System.Text.Json;
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
    private readonly string _clusterId = Names.Unique("c");

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

    /// <summary>Starts a host; it is recorded before it is waited for, so a start that fails leaves no process behind.</summary>
    private async Task<SiloProcess> StartSiloAsync(params string[] extra)
    {
        var silo = SiloProcess.Launch(_db.ConnectionString, _clusterId, extra);
        _silos.Add(silo);
        await silo.WaitHealthyAsync();
        return silo;
    }

    private static object Sh(string script, int maxConcurrency = 0) =>
        new { image = StevedoreServer.Image, command = new[] { "sh", "-c", script }, maxConcurrency };

    private static bool RunningOn(JsonElement task, string node) =>
        TaskJson.Status(task) == "running" && task.GetProperty("node").GetString() == node;

    /// <summary>Waits until the task's container runs (a task is "running" from the moment its node takes it).</summary>
    private static async Task<Docker.DotNet.Models.ContainerListResponse> WaitContainerRunningAsync(string taskId)
    {
        var running = await Wait.UntilAsync(() => Containers.ListAsync(Containers.TaskLabel, taskId, runningOnly: true),
            list => list.Count == 1, $"the container of task {taskId} to run", describe: list => $"{list.Count} running");
        return running[0];
    }

    private static async Task<string> WaitRunningOnAsync(SiloProcess via, IReadOnlyList<string> ids, string node)
    {
        var running = await Wait.UntilAsync(async () =>
        {
            foreach (var id in ids)
            {
                if (RunningOn(await via.GetTaskAsync(id), node))
                {
                    return id;
                }
            }

            return null;
        }, id => id is not null, $"a task to run on {node}");
        return running!;
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
        await WaitContainerRunningAsync(interrupted);
        a.Kill();
        var killedAt = DateTimeOffset.UtcNow;

        var tasks = await b.WaitAllEndedAsync(ids);

        Assert.All(tasks, t => Assert.Equal("succeeded", TaskJson.Status(t)));
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
        await Containers.NoneLeftAsync(async () => await Containers.TaskContainersOfJobAsync(job), $"the task containers of job {job}");
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
        // Node a's worker node grain kept its state in PostgreSQL through Orleans' ADO.NET persistence provider.
        Assert.NotEmpty(await WorkerNodeStateAsync(a.Node));

        var jobJson = await c.Http.GetFromJsonAsync<JsonElement>($"/v1/jobs/{job}");
        Assert.Equal(1, jobJson.GetProperty("version").GetInt64());
        Assert.Equal("succeeded", TaskJson.Status(await c.GetTaskAsync(finished)));
        Assert.Equal("hello 1\n", await c.Http.GetStringAsync($"/v1/tasks/{finished}/log"));
        var ran = (await c.WaitAllEndedAsync([delayed])).Single();
        Assert.Equal("succeeded", TaskJson.Status(ran));
        Assert.True(ran.GetProperty("startedAt").GetDateTimeOffset() >= runAfter);
        Assert.Equal(1, ran.GetProperty("attempt").GetInt32());
        var stillWaiting = await c.GetTaskAsync(waiting);
        Assert.True(TaskJson.Status(stillWaiting) == "queued", $"{stillWaiting}\n{c.Output}");
        await c.Http.PostAsync($"/v1/jobs/{queuedWhilePaused}/resume", null);
        Assert.Equal("succeeded", TaskJson.Status((await c.WaitAllEndedAsync([waiting])).Single()));
    }

    /// <summary>The stored state of one worker node grain: its row, found by the grain's key (the node name).</summary>
    private async Task<byte[]> WorkerNodeStateAsync(string node)
    {
        await using var read = _db.DataSource.CreateCommand("SELECT payload_binary FROM orleans_storage WHERE grain_id_extension = $1");
        read.Parameters.AddWithValue(node);
        await using var row = await read.ExecuteReaderAsync();
        Assert.True(await row.ReadAsync(), $"no stored state for worker node {node}");
        var payload = row.IsDBNull(0) ? [] : (byte[])row.GetValue(0);
        Assert.False(await row.ReadAsync(), $"more than one row for worker node {node}");
        return payload;
    }

    [Fact]
    public async Task MaxConcurrencyOne_IsNeverExceeded_WhileASiloIsKilled()
    {
        var a = await StartSiloAsync();
        var job = Names.Unique("single");
        // The first attempt of the "long" task outlives the 3 s lease by far: it ends only when a node kills it.
        await a.PutJobAsync(job, Sh("if [ \"$(cat)\" = long ] && [ $STEVEDORE_ATTEMPT = 1 ]; then sleep 300; fi; echo done $STEVEDORE_ATTEMPT", maxConcurrency: 1));
        await using var recorder = Containers.RecordEvents(Containers.JobLabel, job);
        var orphaned = await a.EnqueueAsync(job, new { payload = "long" });
        await a.WaitForTaskAsync(orphaned, t => RunningOn(t, a.Node), $"to run on {a.Node}");
        await WaitContainerRunningAsync(orphaned);
        var b = await StartSiloAsync();
        var ids = new List<string> { orphaned };
        for (var i = 0; i < 3; i++)
        {
            ids.Add(await b.EnqueueAsync(job));
        }

        a.Kill();
        var tasks = await b.WaitAllEndedAsync(ids);
        var events = await recorder.StopAsync();

        Assert.All(tasks, t => Assert.Equal("succeeded", TaskJson.Status(t)));
        var attempts = tasks[0].GetProperty("attempts");
        Assert.Equal(2, attempts.GetArrayLength());
        Assert.Contains("worker lost", attempts[0].GetProperty("error").GetString());
        Assert.Equal(b.Node, attempts[1].GetProperty("node").GetString());
        // The engine's own history: the orphan's container was killed before any other container of the job started.
        Assert.Equal(5, events.Count(e => e.Action == "start"));
        Assert.Equal(1, Containers.MaxRunningAtOnce(events));
        await Containers.NoneLeftAsync(() => Containers.ListAsync(Containers.JobLabel, job), $"the containers of job {job}");
        // The attempts the API records never overlap either.
        var intervals = tasks.SelectMany(t => t.GetProperty("attempts").EnumerateArray())
            .Select(x => (Start: x.GetProperty("startedAt").GetDateTimeOffset(), End: x.GetProperty("finishedAt").GetDateTimeOffset()))
            .OrderBy(x => x.Start).ToList();
        for (var i = 1; i < intervals.Count; i++)
        {
            Assert.True(intervals[i].Start >= intervals[i - 1].End, $"attempt starting {intervals[i].Start:O} overlaps one ending {intervals[i - 1].End:O}");
        }
    }

    [Fact]
    public async Task ANodeStartingAgain_RemovesTheContainersItLeftWhenItDied()
    {
        var node = Names.Node();
        // A lease far longer than the test: only the restarted node's sweep can remove the container.
        string[] settings = [$"--Stevedore:Worker:Node={node}", "--Stevedore:Queue:LeaseDuration=00:05:00"];
        var a = await StartSiloAsync(settings);
        var job = Names.Unique("orphan");
        await a.PutJobAsync(job, Sh("echo up; sleep 300"));
        var id = await a.EnqueueAsync(job);
        await a.WaitForTaskAsync(id, t => RunningOn(t, node), $"to run on {node}");
        var container = await WaitContainerRunningAsync(id);

        a.Kill();
        Assert.Single(await Containers.ListAsync(Containers.TaskLabel, id, runningOnly: true));
        var again = await StartSiloAsync(settings);

        await Wait.UntilAsync(async () => (await Containers.ListAsync(Containers.TaskLabel, id)).Count == 0,
            $"node {node}, started again, to remove container {container.ID[..12]} it left behind");
        await Wait.UntilAsync(() => again.Output.Contains($"Removed 1 containers node {node} left behind", StringComparison.Ordinal),
            "the restarted node to say it removed the container");
    }

    [Fact]
    public async Task Sigterm_KillsTheNodesContainers_AndItsTasksRunAgainAtOnceElsewhere()
    {
        // A lease far longer than the test: the task runs again soon only if the stopping node handed it back.
        string[] settings = ["--Stevedore:Queue:LeaseDuration=00:05:00"];
        var a = await StartSiloAsync(settings);
        var job = Names.Unique("drain");
        await a.PutJobAsync(job, Sh("echo up $STEVEDORE_ATTEMPT; if [ $STEVEDORE_ATTEMPT = 1 ]; then sleep 300; fi; echo done"));
        var id = await a.EnqueueAsync(job);
        await a.WaitForTaskAsync(id, t => RunningOn(t, a.Node), $"to run on {a.Node}");
        await Wait.UntilAsync(async () => (await a.Http.GetStringAsync($"/v1/tasks/{id}/log")).Contains("up 1", StringComparison.Ordinal),
            "the first attempt to write its first line");

        await a.TerminateAsync();

        Assert.Equal(0, await a.WaitExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Empty(await Containers.ListAsync(Containers.TaskLabel, id));
        var b = await StartSiloAsync(settings);
        var task = await b.WaitForTaskAsync(id, TaskJson.HasEnded, "to run again on the node that is left");
        Assert.Equal("succeeded", TaskJson.Status(task));
        var attempts = task.GetProperty("attempts");
        Assert.Equal(2, attempts.GetArrayLength());
        Assert.Equal($"worker lost: node {a.Node} shut down", attempts[0].GetProperty("error").GetString());
        Assert.Equal(b.Node, attempts[1].GetProperty("node").GetString());
        var log = await b.Http.GetStringAsync($"/v1/tasks/{id}/log");
        Assert.Contains("up 1\n", log);
        Assert.Contains("up 2\ndone\n", log);
    }
}

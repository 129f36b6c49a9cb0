using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Stevedore.IntegrationTests.Engine;

/// <summary>A host whose Docker Engine is reached through an <see cref="EngineProxy"/> the test can cut.</summary>
public sealed class EngineAwayServer : StevedoreServer
{
    public EngineProxy Proxy { get; } = new();

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Stevedore:Docker:Endpoint"] = Proxy.Endpoint,
        ["Stevedore:Worker:EngineCheckInterval"] = "00:00:00.500",
    };

    protected override async Task CleanupAsync() => await Proxy.DisposeAsync();
}

/// <summary>The container engine goes away under a running task and comes back; the silo stays up throughout.</summary>
public class EngineAwayTests(EngineAwayServer server) : IClassFixture<EngineAwayServer>
{
    [Fact]
    public async Task EngineGoingAway_EndsTheAttemptAsWorkerLost_TakesNoWork_ThenRunsItAgainAndSweepsWhatItLeft()
    {
        var stopping = false;
        using var watchStop = server.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.Register(() => stopping = true);
        var (job, id) = await RunningTaskAsync("engine-away");

        await server.Proxy.CutAsync();
        using var api = new ApiWatch(server.Http, $"/v1/tasks/{id}", $"/v1/jobs/{job}", $"/v1/jobs/{job}/stats", $"/v1/tasks?job={job}");

        // The attempt ends as lost and the task waits, rather than failing or running again on the dead engine.
        var lost = await FirstAttemptEndedAsync(id);
        Assert.Equal("queued", TaskJson.Status(lost));
        Assert.Single(Attempts(lost));
        Assert.StartsWith("worker lost: the container engine of node", Attempts(lost)[0].GetProperty("error").GetString());

        // While the engine is away the node takes no work: a task enqueued now is not started (it would fail or be lost).
        var other = Names.Unique("engine-away-other");
        await server.PutJobAsync(other, new { image = StevedoreServer.Image, command = new[] { "echo", "hi" } });
        var waiting = await server.EnqueueAsync(other);
        using (var health = await server.Http.GetAsync("/healthz"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
        }

        server.Proxy.Restore();

        var done = await server.WaitForEndAsync(id);
        Assert.Equal("succeeded", TaskJson.Status(done));
        Assert.Equal(2, done.GetProperty("attempt").GetInt32());
        // The lost attempt used up no retry: the job allows one attempt, and the task got one beyond the lost one.
        Assert.Equal(2, done.GetProperty("maxAttempts").GetInt32());
        Assert.Equal("succeeded", Attempts(done)[1].GetProperty("status").GetString());
        Assert.Contains("done", await server.Http.GetStringAsync($"/v1/tasks/{id}/log"));

        var second = await server.WaitForEndAsync(waiting);
        Assert.Equal("succeeded", TaskJson.Status(second));
        Assert.Single(Attempts(second));

        // The first attempt's container ran on behind the cut; the node removed it when the engine came back.
        await Containers.GoneAsync(id);
        await Containers.GoneAsync(waiting);
        await server.WaitHealthyAsync();

        var calls = await api.StopAsync();
        Assert.True(calls.Count > 0, "the API was not called while the engine was away");
        Assert.DoesNotContain(calls, c => c.Status >= 500);
        Assert.False(stopping, "the host began to stop");
    }

    [Fact]
    public async Task AnEngineThatAcceptsAndSaysNothing_ThenAnswers_TheNodeTakesWorkAgain()
    {
        var (_, id) = await RunningTaskAsync("engine-silent");
        try
        {
            await server.Proxy.CutAsync();
            await FirstAttemptEndedAsync(id);

            // The engine comes back as a restarting dockerd does: it accepts connections and answers nothing for a while.
            // A check held past its timeout is a check that failed; the next one follows (a check ending the watch that
            // brings the node back to work left it idle for good: the soak found that).
            server.Proxy.Silence();
            await Wait.UntilAsync(() => server.Proxy.HeldConnections >= 2, "a second check of the engine after the first one was held past its timeout");
        }
        finally
        {
            server.Proxy.Restore();
        }

        var done = await server.WaitForEndAsync(id);
        Assert.Equal("succeeded", TaskJson.Status(done));
        Assert.Equal(2, done.GetProperty("attempt").GetInt32());
        await Containers.GoneAsync(id);
        await server.WaitHealthyAsync();
    }

    /// <summary>A task whose first attempt runs until the engine goes (its next attempt ends at once), once it runs.</summary>
    private async Task<(string Job, string Id)> RunningTaskAsync(string prefix)
    {
        var job = Names.Unique(prefix);
        await server.PutJobAsync(job, new
        {
            image = StevedoreServer.Image,
            command = new[] { "sh", "-c", "if [ \"$STEVEDORE_ATTEMPT\" = 1 ]; then echo started; sleep 600; fi; echo done" },
            retries = 0,
        });
        var id = await server.EnqueueAsync(job);
        Assert.Equal("started", await server.FirstLogLineAsync(id));
        return (job, id);
    }

    private Task<JsonElement> FirstAttemptEndedAsync(string id) =>
        Wait.UntilAsync(() => server.GetTaskAsync(id), t => Attempts(t).Count > 0 && Attempts(t)[0].TryGetProperty("finishedAt", out var f) && f.ValueKind != JsonValueKind.Null,
            "the first attempt to end once the engine went", describe: t => t.ToString());

    private static IReadOnlyList<JsonElement> Attempts(JsonElement task) => [.. task.GetProperty("attempts").EnumerateArray()];

    /// <summary>Calls a few read endpoints in turn until stopped, recording each answer's status.</summary>
    private sealed class ApiWatch : IDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly ConcurrentQueue<(string Path, int Status)> _calls = new();
        private readonly Task _loop;

        public ApiWatch(HttpClient http, params string[] paths) => _loop = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                foreach (var path in paths)
                {
                    using var response = await http.GetAsync(path, CancellationToken.None);
                    _calls.Enqueue((path, (int)response.StatusCode));
                }
            }
        });

        public async Task<IReadOnlyList<(string Path, int Status)>> StopAsync()
        {
            await _stop.CancelAsync();
            await _loop;
            return [.. _calls];
        }

        public void Dispose() => _stop.Cancel();
    }
}

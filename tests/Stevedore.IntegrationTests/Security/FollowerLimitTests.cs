using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Stevedore.IntegrationTests.Security;

/// <summary>Log followers are bounded: per task and per node (429 beyond), and in time for a task that cannot start.</summary>
[Collection(LimitCollection.Name)]
public class FollowerLimitTests(LimitServer server)
{
    private HttpClient Http => server.Http;

    private async Task<string> JobAsync(string script, bool paused = false)
    {
        var job = Names.Unique("follow");
        await server.PutJobAsync(job, new { image = StevedoreServer.Image, command = new[] { "sh", "-c", script } });
        if (paused)
        {
            await Http.PostAsync($"/v1/jobs/{job}/pause", null);
        }

        return job;
    }

    /// <summary>Reads a whole log response, failing (not hanging) when the server holds it open past the deadline.</summary>
    private async Task<(HttpStatusCode Status, string Body)> ReadLogAsync(string path, int seconds = 30)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        try
        {
            using var response = await Http.GetAsync(path, deadline.Token);
            return (response.StatusCode, await response.Content.ReadAsStringAsync(deadline.Token));
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            throw new TimeoutException($"GET {path} was still open after {seconds} s");
        }
    }

    [Fact]
    public async Task FollowingATaskOfAPausedJob_EndsAfterTheBoundedTime_WithALastLine()
    {
        var job = await JobAsync("echo never", paused: true);
        var id = await server.EnqueueAsync(job);

        var (status, body) = await ReadLogAsync($"/v1/tasks/{id}/log?follow=true");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal($"[stevedore] task {id} is still queued after {LimitServer.QueuedFollowSeconds} s (its job may be paused or at its limits); follow again later\n", body);
        // With one stream asked for, it just ends.
        Assert.Equal((HttpStatusCode.OK, ""), await ReadLogAsync($"/v1/tasks/{id}/log?follow=true&stream=stdout"));
    }

    [Fact]
    public async Task FollowingADelayedTask_EndsAfterTheBoundedTime_SayingUntilWhen()
    {
        var job = await JobAsync("echo later");
        var id = await server.EnqueueAsync(job, new { delaySeconds = 3600 });

        var (_, body) = await ReadLogAsync($"/v1/tasks/{id}/log?follow=true");

        var runAfter = (await server.GetTaskAsync(id)).GetProperty("runAfter").GetDateTimeOffset();
        Assert.Contains($"it is delayed until {runAfter.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture)}", body);
        await Http.PostAsync($"/v1/tasks/{id}/cancel", null);
    }

    [Fact]
    public async Task FollowersBeyondTheCaps_Get429_WithRetryAfter_AndRoomComesBack()
    {
        // Running tasks that print one line and keep going: their followers stay open, past the queued bound.
        var job = await JobAsync("echo started; sleep 120");
        var ids = new[] { await server.EnqueueAsync(job), await server.EnqueueAsync(job), await server.EnqueueAsync(job) };
        var open = new List<HttpResponseMessage>();
        try
        {
            // Followers of a queued task end after QueuedFollowTimeout, and would free their slots: start once all run.
            await Wait.UntilAsync(async () => (await Task.WhenAll(ids.Select(id => Http.GetStringAsync($"/v1/tasks/{id}/log"))))
                .All(log => log.Contains("started", StringComparison.Ordinal)), "the three tasks to be running and printing");

            async Task<HttpResponseMessage> FollowAsync(string id)
            {
                var response = await Http.GetAsync($"/v1/tasks/{id}/log?follow=true", HttpCompletionOption.ResponseHeadersRead);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    open.Add(response);
                }

                return response;
            }

            Assert.Equal(HttpStatusCode.OK, (await FollowAsync(ids[0])).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await FollowAsync(ids[0])).StatusCode);
            var perTask = await FollowAsync(ids[0]);
            var problem = await InvalidInputTests.ProblemAsync(perTask, HttpStatusCode.TooManyRequests);
            Assert.Contains("MaxFollowersPerTask", problem.GetProperty("detail").GetString());
            Assert.Equal(TimeSpan.FromSeconds(5), perTask.Headers.RetryAfter?.Delta);

            Assert.Equal(HttpStatusCode.OK, (await FollowAsync(ids[1])).StatusCode);
            var perNode = await FollowAsync(ids[2]);
            problem = await InvalidInputTests.ProblemAsync(perNode, HttpStatusCode.TooManyRequests);
            Assert.Contains("MaxFollowersPerNode", problem.GetProperty("detail").GetString());
            Assert.NotNull(perNode.Headers.RetryAfter);

            // A plain read is not a follower.
            Assert.Contains("started", await Http.GetStringAsync($"/v1/tasks/{ids[2]}/log"));

            // A follower that hangs up makes room.
            open[0].Dispose();
            open.RemoveAt(0);
            await Wait.UntilAsync(async () =>
            {
                var again = await FollowAsync(ids[2]);
                return again.StatusCode == HttpStatusCode.OK;
            }, "a follower's slot to free after it hung up");
        }
        finally
        {
            open.ForEach(r => r.Dispose());
            foreach (var id in ids)
            {
                await Http.PostAsync($"/v1/tasks/{id}/cancel", null);
            }
        }
    }

    [Fact]
    public async Task APlainRead_OfALargeLog_ComesWholeAndInOrder()
    {
        var job = await JobAsync("seq 1 300000; echo done >&2");
        var id = await server.EnqueueAsync(job);
        Assert.Equal("succeeded", (await server.WaitForEndAsync(id)).GetProperty("status").GetString());

        var expected = new StringBuilder();
        for (var i = 1; i <= 300_000; i++)
        {
            expected.Append(i).Append('\n');
        }

        // Each stream comes whole and in order. Between the two streams the engine gives no order (it reads stdout and
        // stderr through separate pipes), so stderr's line may sit anywhere in the combined log, even mid-line.
        var combined = await Http.GetStringAsync($"/v1/tasks/{id}/log");
        Assert.Equal(expected.Length + "done\n".Length, combined.Length);
        Assert.Equal(expected.ToString(), combined.Replace("done\n", "", StringComparison.Ordinal));
        Assert.Equal(expected.ToString(), await Http.GetStringAsync($"/v1/tasks/{id}/log?stream=stdout"));
        Assert.Equal("done\n", await Http.GetStringAsync($"/v1/tasks/{id}/log?stream=stderr"));
        var task = await Http.GetFromJsonAsync<JsonElement>($"/v1/tasks/{id}");
        Assert.Equal(0, task.GetProperty("exitCode").GetInt64());
    }
}

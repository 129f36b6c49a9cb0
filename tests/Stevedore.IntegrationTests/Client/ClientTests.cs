using System.Text;
using Google.Protobuf;
using Microsoft.Extensions.DependencyInjection;
using Stevedore.Client;

namespace Stevedore.IntegrationTests.Client;

// Inside the namespace: the API's messages win over the host's types of the same name.
using Stevedore.Api.V1;

/// <summary>The .NET client library against a real host running real containers.</summary>
[Collection(ServerCollection.Name)]
public sealed class ClientTests(StevedoreServer server) : IDisposable
{
    private readonly StevedoreClient _client = server.NewClient();

    public void Dispose() => _client.Dispose();

    private async Task<string> JobAsync(string prefix, params string[] command)
    {
        var name = Names.Unique(prefix);
        var spec = new JobSpec { Image = StevedoreServer.Image, TimeoutSeconds = 60 };
        spec.Command.AddRange(command);
        Assert.True((await _client.PutJobAsync(name, spec)).Created);
        return name;
    }

    [Fact]
    public async Task RunAsync_AnswersTheFinishedTaskWithItsResult()
    {
        var job = await JobAsync("crun", "sh", "-c", "printf 'hello %s' \"$(cat)\" > $STEVEDORE_RESULT_FILE");
        var run = await _client.RunAsync(job, "world");
        Assert.True(run.Finished);
        Assert.Equal(TaskState.Succeeded, run.Task.Status);
        Assert.Equal("hello world", run.Result.ToStringUtf8());
    }

    [Fact]
    public async Task QueueWatchWaitAndStreamLog_FollowATaskToItsEnd()
    {
        var job = await JobAsync("cwatch", "sh", "-c", "echo one; sleep 1; echo two; exit 7");
        var task = await _client.QueueAsync(job);
        Assert.Equal(TaskState.Queued, task.Status);

        var log = new StringBuilder();
        await foreach (var chunk in _client.StreamLogAsync(task.Id))
        {
            log.Append(Encoding.UTF8.GetString(chunk.Span));
        }

        Assert.Equal("one\ntwo\n", log.ToString());
        var states = new List<TaskState>();
        await foreach (var seen in _client.WatchAsync(task.Id))
        {
            states.Add(seen.Status);
        }

        Assert.Equal(TaskState.Failed, Assert.Single(states));
        var finished = await _client.WaitAsync(task.Id);
        Assert.Equal(7, finished.ExitCode);
        Assert.True(StevedoreClient.IsFinished(finished.Status));
    }

    [Fact]
    public async Task QueueBatch_ListAndRetry()
    {
        var job = await JobAsync("cbatch", "sh", "-c", "cat > $STEVEDORE_RESULT_FILE");
        var ids = await _client.QueueBatchAsync(job, Enumerable.Range(0, 3).Select(i => new TaskInput { Payload = ByteString.CopyFromUtf8($"p{i}") }));
        Assert.Equal(3, ids.Count);
        foreach (var id in ids)
        {
            await _client.WaitAsync(id);
        }

        var page = await _client.ListTasksAsync(new ListTasksRequest { Job = job, Limit = 2 });
        Assert.Equal(2, page.Items.Count);
        Assert.Equal(ids[2], page.Items[0].Id);
        var rest = await _client.ListTasksAsync(new ListTasksRequest { Job = job, Cursor = page.NextCursor });
        Assert.Equal(ids[0], Assert.Single(rest.Items).Id);

        var retry = await _client.RetryAsync(ids[1]);
        await _client.WaitAsync(retry.Id);
        Assert.Equal("p1", Encoding.UTF8.GetString((await _client.GetResultAsync(retry.Id)).Span));
    }

    [Fact]
    public async Task JobOperations()
    {
        var job = await JobAsync("cjob", "true");
        Assert.Contains(await _client.ListJobsAsync(), j => j.Name == job);
        Assert.True((await _client.PauseJobAsync(job)).Paused);
        var queued = await _client.QueueAsync(job);
        Assert.Equal(1, (await _client.GetJobStatsAsync(job)).QueuedNow);
        Assert.Equal(TaskState.Cancelled, (await _client.CancelAsync(queued.Id)).Status);
        Assert.False((await _client.ResumeJobAsync(job)).Paused);
        await _client.DeleteJobAsync(job);
        await Assert.ThrowsAsync<StevedoreNotFoundException>(() => _client.GetJobAsync(job));
    }

    [Fact]
    public async Task Refusals_AreTypedExceptions_CarryingTheFieldErrors()
    {
        var invalid = await Assert.ThrowsAsync<StevedoreValidationException>(() =>
            _client.PutJobAsync(Names.Unique("cbad"), new JobSpec { MemoryMb = 1, Priority = 5 }));
        Assert.Contains("image", invalid.Errors.Keys);
        Assert.Contains("memoryMb", invalid.Errors.Keys);
        Assert.Contains("priority", invalid.Errors.Keys);

        var job = await JobAsync("crefuse", "true");
        await Assert.ThrowsAsync<StevedoreTooLargeException>(() =>
            _client.QueueAsync(job, new TaskInput { Payload = ByteString.CopyFrom(new byte[(1024 * 1024) + 1]) }));
        var done = await _client.RunAsync(job);
        await Assert.ThrowsAsync<StevedoreConflictException>(() => _client.CancelAsync(done.Task.Id));
        await Assert.ThrowsAsync<StevedoreNotFoundException>(() => _client.GetResultAsync(done.Task.Id));
        await Assert.ThrowsAsync<StevedoreNotFoundException>(() => _client.GetTaskAsync("0123456789abcdef0123456789abcdef"));
        await Assert.ThrowsAsync<StevedoreNotFoundException>(async () =>
        {
            await foreach (var _ in _client.WatchAsync("0123456789abcdef0123456789abcdef"))
            {
            }
        });
    }

    [Fact]
    public async Task Cancellation_StopsAWait()
    {
        var job = await JobAsync("ccancel", "sleep", "30");
        var task = await _client.QueueAsync(job);
        using var soon = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _client.WaitAsync(task.Id, soon.Token));
        await _client.CancelAsync(task.Id);
    }

    [Fact]
    public async Task AnUnreachableServer_IsUnavailable()
    {
        using var client = new StevedoreClient(new StevedoreClientOptions { Address = new Uri($"http://127.0.0.1:{Names.FreePort()}") });
        await Assert.ThrowsAsync<StevedoreUnavailableException>(() => client.ListJobsAsync());
    }

    [Fact]
    public async Task AddStevedoreClient_RegistersAConfiguredClient()
    {
        var services = new ServiceCollection();
        services.AddStevedoreClient(o => o.Address = server.GrpcAddress);
        services.AddStevedoreClient();
        await using var provider = services.BuildServiceProvider();
        var client = provider.GetRequiredService<StevedoreClient>();
        Assert.Same(client, provider.GetRequiredService<StevedoreClient>());
        var job = await JobAsync("cdi", "echo", "hi");
        Assert.Equal(TaskState.Succeeded, (await client.RunAsync(job)).Task.Status);
    }
}

/// <summary>The client library with and without the admin token.</summary>
public sealed class ClientTokenTests(TokenServer server) : IClassFixture<TokenServer>
{
    [Fact]
    public async Task WithoutTheToken_IsUnauthorized_WithItWorks()
    {
        using var anonymous = server.NewClient();
        await Assert.ThrowsAsync<StevedoreUnauthorizedException>(() => anonymous.ListJobsAsync());
        using var wrong = server.NewClient("wrong-token-0123456789");
        await Assert.ThrowsAsync<StevedoreUnauthorizedException>(() => wrong.ListJobsAsync());
        using var client = server.NewClient(TokenServer.Token);
        Assert.NotNull(await client.ListJobsAsync());
    }
}

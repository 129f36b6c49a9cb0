using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;
using Stevedore.Application;
using Stevedore.Host.Hosting;
using Stevedore.Storage;
using Stevedore.Storage.Memory;

namespace Stevedore.UnitTests.Grains;

/// <summary>
/// The payload store fails just as an attempt begins (a database restart between the task's start and its payload
/// read): the worker waits it out and runs that attempt, instead of dropping it to lapse and run a second time.
/// </summary>
public sealed class ContentOutageTests : IAsyncLifetime
{
    private readonly TestCluster _cluster = new TestClusterBuilder(1).AddSiloBuilderConfigurator<SiloConfigurator>().AddClientBuilderConfigurator<LoopbackClient>().Build();

    public Task InitializeAsync() => _cluster.DeployAsync();

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task PayloadUnreadableAsTheAttemptBegins_TheAttemptWaitsAndRunsOnce()
    {
        var services = ((InProcessSiloHandle)_cluster.Primary!).SiloHost.Services;
        var jobs = services.GetRequiredService<JobService>();
        var tasks = services.GetRequiredService<TaskService>();
        Assert.True((await jobs.PutAsync("payload-outage", new JobDraft { Image = "fake/echo" })).Ok);
        FlakyPayloads.FailuresLeft = 3;
        var task = (await tasks.EnqueueAsync("payload-outage", new TaskDraft { Payload = "kept"u8.ToArray() })).Value!.Task;

        var deadline = DateTime.UtcNow.AddSeconds(30);
        TaskRecord now;
        while (!(now = (await tasks.GetAsync(task.Id)).Value!).Status.IsTerminal())
        {
            Assert.True(DateTime.UtcNow < deadline, $"the task is still {now.Status.ToWire()} at attempt {now.Attempt}");
            await Task.Delay(20);
        }

        Assert.Equal(0, FlakyPayloads.FailuresLeft);
        Assert.Equal(TaskRunStatus.Succeeded, now.Status);
        // One attempt: the one that began while the store was away (a dropped one lapses after 1 s and runs again).
        Assert.Equal(1, now.Attempt);
        Assert.Single(now.Attempts);
        var log = await services.GetRequiredService<ITaskContentStore>().ReadLogAsync(task.Id, 0, 1 << 20);
        Assert.Equal("kept", string.Concat(log.Chunks.Select(c => System.Text.Encoding.UTF8.GetString(c.Data.Span))).TrimEnd('\n'));
    }

    /// <summary>Task content in memory whose next payload reads fail the way PostgreSQL does when it restarts.</summary>
    private sealed class FlakyPayloads(ITaskContentStore inner) : ITaskContentStore
    {
        private static int s_failuresLeft;

        public static int FailuresLeft
        {
            get => Volatile.Read(ref s_failuresLeft);
            set => Volatile.Write(ref s_failuresLeft, value);
        }

        public Task<ReadOnlyMemory<byte>?> GetPayloadAsync(string taskId, CancellationToken cancellationToken = default)
        {
            if (Interlocked.Decrement(ref s_failuresLeft) >= 0)
            {
                throw new Npgsql.NpgsqlException("Exception while reading from stream");
            }

            Interlocked.Exchange(ref s_failuresLeft, 0);
            return inner.GetPayloadAsync(taskId, cancellationToken);
        }

        public Task PutPayloadAsync(string taskId, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken = default) =>
            inner.PutPayloadAsync(taskId, payload, cancellationToken);

        public Task PutPayloadsAsync(IReadOnlyList<KeyValuePair<string, ReadOnlyMemory<byte>>> payloads, CancellationToken cancellationToken = default) =>
            inner.PutPayloadsAsync(payloads, cancellationToken);

        public Task PutResultAsync(string taskId, ReadOnlyMemory<byte> result, CancellationToken cancellationToken = default) =>
            inner.PutResultAsync(taskId, result, cancellationToken);

        public Task<ReadOnlyMemory<byte>?> GetResultAsync(string taskId, CancellationToken cancellationToken = default) =>
            inner.GetResultAsync(taskId, cancellationToken);

        public Task AppendLogAsync(string taskId, IReadOnlyList<LogChunk> chunks, CancellationToken cancellationToken = default) =>
            inner.AppendLogAsync(taskId, chunks, cancellationToken);

        public Task<(IReadOnlyList<LogChunk> Chunks, long Next)> ReadLogAsync(string taskId, long from, int maxBytes, CancellationToken cancellationToken = default) =>
            inner.ReadLogAsync(taskId, from, maxBytes, cancellationToken);

        public Task WaitForLogAsync(string taskId, long position, CancellationToken cancellationToken) =>
            inner.WaitForLogAsync(taskId, position, cancellationToken);

        public Task DeleteAsync(IReadOnlyList<string> taskIds, CancellationToken cancellationToken = default) =>
            inner.DeleteAsync(taskIds, cancellationToken);
    }

    private sealed class SiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder)
        {
            var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Stevedore:Worker:Driver"] = "fake",
                ["Stevedore:Worker:Slots"] = "2",
                ["Stevedore:Worker:Node"] = "payload-outage-node",
                ["Stevedore:Queue:LeaseDuration"] = "00:00:01",
            }).Build();
            var tasks = new MemoryTaskStore();
            var content = new MemoryTaskContentStore();
            siloBuilder.Services.AddSingleton<ITaskStore>(tasks);
            siloBuilder.Services.AddSingleton<ITaskContentStore>(new FlakyPayloads(content));
            siloBuilder.Services.AddSingleton<ITaskIntake>(new MemoryTaskIntake(tasks, content));
            siloBuilder.AddMemoryGrainStorageAsDefault();
            siloBuilder.Services.AddStevedore(config);
        }
    }
}

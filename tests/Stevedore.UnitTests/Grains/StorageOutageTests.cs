using System.Collections.Concurrent;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;
using Orleans.TestingHost;
using Stevedore.Application;
using Stevedore.Host.Hosting;

namespace Stevedore.UnitTests.Grains;

/// <summary>
/// A silo whose grain storage fails for a while as the worker node registers (a database restart as the silo
/// starts): the worker waits it out instead of stopping the host.
/// </summary>
public sealed class StorageOutageTests : IAsyncLifetime
{
    private readonly TestCluster _cluster = new TestClusterBuilder(1).AddSiloBuilderConfigurator<SiloConfigurator>().AddClientBuilderConfigurator<LoopbackClient>().Build();

    public Task InitializeAsync()
    {
        FlakyStorage.FailuresLeft = 4;
        return _cluster.DeployAsync();
    }

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task WorkerNodeStateUnreadableAtRegistration_TheSiloStaysUp_AndRunsTasksOnceItReads()
    {
        var services = ((InProcessSiloHandle)_cluster.Primary!).SiloHost.Services;
        var jobs = services.GetRequiredService<JobService>();
        var tasks = services.GetRequiredService<TaskService>();
        Assert.True((await jobs.PutAsync("after-outage", new JobDraft { Image = "fake/ok" })).Ok);
        var task = (await tasks.EnqueueAsync("after-outage", new TaskDraft())).Value!.Task;

        var deadline = DateTime.UtcNow.AddSeconds(30);
        TaskRecord now;
        while (!(now = (await tasks.GetAsync(task.Id)).Value!).Status.IsTerminal())
        {
            Assert.True(DateTime.UtcNow < deadline, $"the task is still {now.Status.ToWire()}; storage failures left: {FlakyStorage.FailuresLeft}");
            await Task.Delay(20);
        }

        Assert.Equal(TaskRunStatus.Succeeded, now.Status);
        Assert.Equal(0, FlakyStorage.FailuresLeft);
        Assert.Equal(ClusterFixture.Slots, (await _cluster.Client.GetGrain<IWorkerNodeGrain>("flaky-node").GetStatusAsync()).Slots);
    }

    /// <summary>Grain state in memory whose first reads fail the way PostgreSQL does when it restarts.</summary>
    private sealed class FlakyStorage : IGrainStorage
    {
        private static int s_failuresLeft;
        private readonly ConcurrentDictionary<(string, GrainId), object> _states = new();

        public static int FailuresLeft
        {
            get => Volatile.Read(ref s_failuresLeft);
            set => Volatile.Write(ref s_failuresLeft, value);
        }

        public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
        {
            if (Interlocked.Decrement(ref s_failuresLeft) >= 0)
            {
                throw new Npgsql.NpgsqlException("57P01: terminating connection due to administrator command");
            }

            Interlocked.Exchange(ref s_failuresLeft, 0);
            if (_states.TryGetValue((stateName, grainId), out var state))
            {
                grainState.State = (T)state;
                grainState.RecordExists = true;
            }

            return Task.CompletedTask;
        }

        public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
        {
            _states[(stateName, grainId)] = grainState.State!;
            grainState.RecordExists = true;
            return Task.CompletedTask;
        }

        public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
        {
            _states.TryRemove((stateName, grainId), out _);
            grainState.RecordExists = false;
            return Task.CompletedTask;
        }
    }

    private sealed class SiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder)
        {
            var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Stevedore:Worker:Driver"] = "fake",
                ["Stevedore:Worker:Slots"] = ClusterFixture.Slots.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["Stevedore:Worker:Node"] = "flaky-node",
            }).Build();
            Orleans.Runtime.Hosting.StorageProviderExtensions.AddGrainStorage(siloBuilder.Services, "Default", (_, _) => new FlakyStorage());
            siloBuilder.Services.AddStevedore(config);
        }
    }
}

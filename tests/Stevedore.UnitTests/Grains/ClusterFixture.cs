using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;
using Stevedore.Application;
using Stevedore.Execution.Fake;
using Stevedore.Host.Hosting;

namespace Stevedore.UnitTests.Grains;

/// <summary>An Orleans test cluster of one silo running Stevedore with the in-process fake container driver.</summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    public const int Slots = 4;

    public TestCluster Cluster { get; } = new TestClusterBuilder(1).AddSiloBuilderConfigurator<SiloConfigurator>().Build();

    public IServiceProvider Services => ((InProcessSiloHandle)Cluster.Primary!).SiloHost.Services;
    public FakeContainerDriver Driver => Services.GetRequiredService<FakeContainerDriver>();
    public JobService Jobs => Services.GetRequiredService<JobService>();
    public TaskService Tasks => Services.GetRequiredService<TaskService>();

    public Task InitializeAsync() => Cluster.DeployAsync();

    public async Task DisposeAsync() => await Cluster.DisposeAsync();

    public async Task<JobInfo> PutJobAsync(string name, JobDraft draft)
    {
        var result = await Jobs.PutAsync(name, draft);
        Assert.True(result.Ok, result.Error?.Detail);
        return result.Value!.Job;
    }

    public async Task<TaskRecord> EnqueueAsync(string job, TaskDraft? draft = null)
    {
        var result = await Tasks.EnqueueAsync(job, draft ?? new TaskDraft());
        Assert.True(result.Ok, result.Error?.Detail);
        return result.Value!.Task;
    }

    public async Task<TaskRecord> GetAsync(string id) => (await Tasks.GetAsync(id)).Value!;

    /// <summary>Waits until the task satisfies <paramref name="condition"/>, checking its state as it changes.</summary>
    public async Task<TaskRecord> WaitForAsync(string id, Func<TaskRecord, bool> condition, int seconds = 20)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            var task = await GetAsync(id);
            if (condition(task))
            {
                return task;
            }

            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"task {id} did not get there in {seconds} s; it is {task.Status.ToWire()} at attempt {task.Attempt}");
            }

            await Task.Delay(10);
        }
    }

    public Task<TaskRecord> WaitForEndAsync(string id, int seconds = 20) => WaitForAsync(id, t => t.Status.IsTerminal(), seconds);

    private sealed class SiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder)
        {
            var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Stevedore:Worker:Driver"] = "fake",
                ["Stevedore:Worker:Slots"] = Slots.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["Stevedore:Worker:Node"] = "test-node",
            }).Build();
            siloBuilder.AddMemoryGrainStorageAsDefault();
            siloBuilder.UseInMemoryReminderService();
            siloBuilder.Services.AddStevedore(config);
        }
    }
}

[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>
{
    public const string Name = "cluster";
}

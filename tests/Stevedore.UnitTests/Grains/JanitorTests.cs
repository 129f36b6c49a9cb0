using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Orleans.TestingHost;
using Stevedore.Application;
using Stevedore.Grains.Retention;
using Stevedore.Host.Hosting;
using Stevedore.Options;
using Stevedore.Storage;

namespace Stevedore.UnitTests.Grains;

/// <summary>
/// The janitor grain on a cluster of its own, whose retention sweeper reads a clock eight days ahead: every task
/// that finishes here has outlived the default week by the time the janitor looks.
/// </summary>
public sealed class JanitorTests : IAsyncLifetime
{
    private static readonly FakeTimeProvider s_eightDaysOn = new(DateTimeOffset.UtcNow.AddDays(8));

    private readonly TestCluster _cluster = new TestClusterBuilder(1).AddSiloBuilderConfigurator<SiloConfigurator>().AddClientBuilderConfigurator<LoopbackClient>().Build();

    private IServiceProvider Services => ((InProcessSiloHandle)_cluster.Primary!).SiloHost.Services;

    public Task InitializeAsync() => _cluster.DeployAsync();

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task ItsReminderIsRegisteredAtStart_AndATickSweepsEveryExpiredTask_BatchByBatch()
    {
        var janitor = _cluster.GrainFactory.GetGrain<IJanitorGrain>(0);
        var reminders = Services.GetRequiredService<IReminderTable>();
        await WaitAsync(async () => (await reminders.ReadRow(janitor.GetGrainId(), JanitorGrain.ReminderName)) is not null, "the retention reminder to be registered");

        var jobs = Services.GetRequiredService<JobService>();
        var tasks = Services.GetRequiredService<TaskService>();
        Assert.True((await jobs.PutAsync("swept", new JobDraft { Image = "fake/echo" })).Ok);
        var ids = new List<string>();
        for (var i = 0; i < 25; i++)
        {
            ids.Add((await tasks.EnqueueAsync("swept", new TaskDraft { Payload = "p"u8.ToArray() })).Value!.Task.Id);
        }

        await WaitAsync(async () => (await Task.WhenAll(ids.Select(tasks.GetAsync))).All(t => t.Value!.Status.IsTerminal()), "the tasks to finish");

        await janitor.AsReference<IRemindable>().ReceiveReminder(JanitorGrain.ReminderName, default);

        // Batches of 10: three timer ticks.
        await WaitAsync(async () => (await Task.WhenAll(ids.Select(tasks.GetAsync))).All(t => !t.Ok), "the janitor to delete every expired task");
        var content = Services.GetRequiredService<ITaskContentStore>();
        Assert.All(await Task.WhenAll(ids.Select(id => content.GetPayloadAsync(id))), p => Assert.Null(p));
    }

    private static async Task WaitAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"waited 20 s for {what}");
            await Task.Delay(20);
        }
    }

    private sealed class SiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder)
        {
            var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Stevedore:Worker:Driver"] = "fake",
                ["Stevedore:Worker:Slots"] = "4",
                ["Stevedore:Worker:Node"] = "janitor-node",
                ["Stevedore:Retention:BatchSize"] = "10",
            }).Build();
            siloBuilder.AddMemoryGrainStorageAsDefault();
            siloBuilder.UseInMemoryReminderService();
            siloBuilder.Services.AddSingleton(sp => new RetentionSweeper(
                sp.GetRequiredService<IJobStore>(), sp.GetRequiredService<ITaskStore>(), sp.GetRequiredService<ITaskContentStore>(),
                sp.GetRequiredService<IOptions<RetentionOptions>>(), sp.GetRequiredService<IOptions<QueueOptions>>(), s_eightDaysOn));
            siloBuilder.Services.AddStevedore(config);
        }
    }
}

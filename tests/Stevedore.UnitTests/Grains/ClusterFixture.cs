using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Orleans.TestingHost;
using Stevedore.Application;
using Stevedore.Execution.Fake;
using Stevedore.Host.Hosting;
using Stevedore.Options;

namespace Stevedore.UnitTests.Grains;

/// <summary>
/// An Orleans test cluster of one silo running Stevedore with the in-process fake container driver, on a fake clock:
/// the grains, the worker's lease loop, grain timers and the fake driver's timeouts all read <see cref="Clock"/>, which
/// moves only when a test says so. Orleans' own machinery (messaging, membership, activation collection, the grain
/// directory) keeps real time. Every grain call is recorded in <see cref="Calls"/>, so a test can wait for one.
/// </summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    public const int Slots = 4;

    public TestCluster Cluster { get; } = new TestClusterBuilder(1).AddSiloBuilderConfigurator<SiloConfigurator>().AddClientBuilderConfigurator<LoopbackClient>().Build();

    public IServiceProvider Services => ((InProcessSiloHandle)Cluster.Primary!).SiloHost.Services;
    public FakeContainerDriver Driver => Services.GetRequiredService<FakeContainerDriver>();
    public JobService Jobs => Services.GetRequiredService<JobService>();
    public TaskService Tasks => Services.GetRequiredService<TaskService>();
    public IGrainFactory Grains => Services.GetRequiredService<IGrainFactory>();
    public QueueOptions Queue => Services.GetRequiredService<IOptions<QueueOptions>>().Value;

    /// <summary>The silo's clock (also what <c>TimeProvider</c> resolves to in it).</summary>
    public FakeTimeProvider Clock => (FakeTimeProvider)Services.GetRequiredService<TimeProvider>();

    /// <summary>Every grain call the silo served, with its arguments and result.</summary>
    public GrainCallLog Calls => Services.GetRequiredService<GrainCallLog>();

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

    /// <summary>Waits until the task satisfies <paramref name="condition"/>, described by <paramref name="what"/>.</summary>
    public Task<TaskRecord> WaitForAsync(string id, Func<TaskRecord, bool> condition, string what) =>
        Wait.UntilAsync(() => GetAsync(id), condition, $"task {id} {what}",
            describe: t => $"{t.Status.ToWire()} at attempt {t.Attempt}, runAfter {t.RunAfter:O}, clock {Clock.GetUtcNow():O}");

    public Task<TaskRecord> WaitForEndAsync(string id) => WaitForAsync(id, t => t.Status.IsTerminal(), "to end");

    /// <summary>
    /// Waits until the task has ended while moving the clock by <paramref name="step"/> before each look: for what only
    /// a grain timer brings about (reconciliation, lease confirmation, run-slot checks).
    /// </summary>
    public Task<TaskRecord> AdvanceUntilEndedAsync(string id, TimeSpan step) =>
        Wait.UntilAsync(
            async () =>
            {
                Clock.Advance(step);
                return await GetAsync(id);
            },
            t => t.Status.IsTerminal(), $"task {id} to end while the clock moves by {step}",
            describe: t => $"{t.Status.ToWire()} at attempt {t.Attempt}, clock {Clock.GetUtcNow():O}");

    /// <summary>Waits until attempt <paramref name="attempt"/> of the task has started in the fake driver.</summary>
    public Task WhenStartedAsync(string id, int attempt = 1) =>
        Wait.ForAsync(Driver.WhenStarted(id, attempt), $"attempt {attempt} of task {id} to start");

    private sealed class SiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder)
        {
            var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Stevedore:Worker:Driver"] = "fake",
                ["Stevedore:Worker:Slots"] = Slots.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["Stevedore:Worker:Node"] = "test-node",
                ["Stevedore:Queue:ReconcileInterval"] = "00:00:01",
                ["Stevedore:Queue:LeaseConfirmTimeout"] = "00:00:02",
                // A partition forgets a worker that has not subscribed again for 2 min of (fake) time; the worker
                // subscribes on every heartbeat (real time). Tests move the clock by minutes within a second: a
                // short heartbeat keeps the subscription fresh.
                ["Stevedore:Worker:HeartbeatInterval"] = "00:00:00.200",
            }).Build();
            var services = siloBuilder.Services;
            services.AddSingleton<TimeProvider>(new FakeTimeProvider(DateTimeOffset.UtcNow));
            foreach (var realTime in new[]
            {
                TimeProviderNames.Messaging, TimeProviderNames.SystemTimers, TimeProviderNames.Membership,
                TimeProviderNames.ActivationManagement, TimeProviderNames.GrainDirectory,
            })
            {
                services.AddKeyedSingleton(realTime, TimeProvider.System);
            }

            services.AddSingleton<GrainCallLog>();
            services.AddSingleton<IIncomingGrainCallFilter>(sp => sp.GetRequiredService<GrainCallLog>());
            siloBuilder.AddMemoryGrainStorageAsDefault();
            siloBuilder.UseInMemoryReminderService();
            siloBuilder.AddIncomingGrainCallFilter<UndeliverableFilter>();
            services.AddStevedore(config);
        }
    }
}

/// <summary>
/// Fault injection: calls that hand tasks of a job named <c>undeliverable-…</c> to a queue partition fail, as they do
/// when the partition's silo has just died.
/// </summary>
public sealed class UndeliverableFilter : IIncomingGrainCallFilter
{
    public const string JobPrefix = "undeliverable-";

    public Task Invoke(IIncomingGrainCallContext context)
    {
        if (context.Request.GetArgumentCount() > 0
            && context.Request.GetArgument(0) is IReadOnlyList<QueueEntry> entries
            && entries.Any(e => e.Job.StartsWith(JobPrefix, StringComparison.Ordinal)))
        {
            throw new TimeoutException($"(injected) the queue partition did not answer a call for {entries[0].Job}");
        }

        return context.Invoke();
    }
}

[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>
{
    public const string Name = "cluster";
}

using System.Collections.Concurrent;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Orleans.Providers;
using Orleans.Runtime.Placement;
using Orleans.Serialization;
using Orleans.Storage;
using Orleans.TestingHost;
using Stevedore.Application;
using Stevedore.Application.Triggers;
using Stevedore.Execution.Worker;
using Stevedore.Host.Hosting;
using Stevedore.Storage;
using Stevedore.Storage.Memory;

namespace Stevedore.UnitTests.Grains.Schedules;

/// <summary>
/// Two silos in this process sharing one fake clock and one set of stores (as silos share a database), with the fake
/// container driver. Grain timers follow the fake clock; Orleans' own background loops (membership, reminders) keep
/// real time. Grain state lives in <see cref="SharedGrainStorage"/>, which outlives a silo and can refuse a write.
/// </summary>
public sealed class ScheduleClusterFixture : IAsyncLifetime
{
    public static readonly DateTimeOffset Start = new(2026, 6, 1, 0, 0, 0, TimeSpan.Zero);

    // One cluster per test run: the silos are built by type, so what they share is static.
    internal static readonly FakeTimeProvider s_clock = new(Start);
    internal static readonly MemoryJobStore s_jobs = new();
    internal static readonly MemoryTaskStore s_tasks = new();
    internal static readonly MemoryTaskContentStore s_content = new();
    internal static readonly MemoryTaskEvents s_events = new();
    internal static readonly MemoryScheduleStore s_schedules = new();

    public TestCluster Cluster { get; } = new TestClusterBuilder(2).AddSiloBuilderConfigurator<SiloConfigurator>().AddClientBuilderConfigurator<LoopbackClient>().Build();

    public FakeTimeProvider Clock => s_clock;
    public IScheduleStore ScheduleIndex => s_schedules;
    public IServiceProvider Services => ((InProcessSiloHandle)Cluster.Primary!).SiloHost.Services;
    public JobService Jobs => Services.GetRequiredService<JobService>();
    public ScheduleService Schedules => Services.GetRequiredService<ScheduleService>();

    public Task InitializeAsync() => Cluster.DeployAsync();

    public async Task DisposeAsync() => await Cluster.DisposeAsync();

    public async Task PutJobAsync(string name, string image = "fake/ok")
    {
        var result = await Jobs.PutAsync(name, new JobDraft { Image = image });
        Assert.True(result.Ok, result.Error?.Detail);
    }

    /// <summary>Creates a schedule whose grain is placed on <paramref name="silo"/> (a placement hint), or anywhere.</summary>
    public async Task<ScheduleInfo> CreateAsync(string job, ScheduleDraft draft, SiloHandle? silo = null)
    {
        if (silo is not null)
        {
            RequestContext.Set(IPlacementDirector.PlacementHintKey, silo.SiloAddress);
        }

        try
        {
            var result = await Schedules.CreateAsync(job, draft);
            Assert.True(result.Ok, result.Error?.Detail);
            return result.Value!;
        }
        finally
        {
            RequestContext.Clear();
        }
    }

    /// <summary>Lets a <c>fake/hold</c> task end, on whichever silo runs it.</summary>
    public void Release(string taskId)
    {
        foreach (var silo in Cluster.GetActiveSilos().OfType<InProcessSiloHandle>())
        {
            silo.SiloHost.Services.GetRequiredService<Execution.Fake.FakeContainerDriver>().Release(taskId);
        }
    }

    public IScheduleGrain Grain(string id) => Cluster.GrainFactory.GetGrain<IScheduleGrain>(id);

    /// <summary>
    /// Moves the fake clock, then waits (real time, with a deadline) until the schedule satisfies
    /// <paramref name="until"/>: the tick the move set off runs on the grain's own time.
    /// </summary>
    public async Task<ScheduleInfo> AdvanceAsync(string scheduleId, TimeSpan by, Func<ScheduleInfo, bool> until, int seconds = 30)
    {
        s_clock.Advance(by);
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            var info = (await Grain(scheduleId).GetAsync())!;
            if (until(info))
            {
                return info;
            }

            Assert.True(DateTime.UtcNow < deadline, $"schedule {scheduleId} did not get there in {seconds} s after the clock moved to {s_clock.GetUtcNow():O}: {info}");
            await Task.Delay(10);
        }
    }

    /// <summary>The tasks of a schedule, oldest first.</summary>
    public async Task<IReadOnlyList<TaskRecord>> TasksOfAsync(string scheduleId) =>
        (await s_tasks.QueryAsync(new TaskQuery { Label = new(ScheduleRules.ScheduleLabel, scheduleId), Limit = 1000 })).Items.Reverse().ToList();

    /// <summary>Waits (real time, with a deadline) until the schedule has made <paramref name="count"/> tasks.</summary>
    public async Task<IReadOnlyList<TaskRecord>> WaitForTasksAsync(string scheduleId, int count, int seconds = 30)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            var tasks = await TasksOfAsync(scheduleId);
            if (tasks.Count >= count)
            {
                return tasks;
            }

            Assert.True(DateTime.UtcNow < deadline, $"schedule {scheduleId} made {tasks.Count} of {count} tasks in {seconds} s");
            await Task.Delay(10);
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
            }).Build();
            var services = siloBuilder.Services;
            services.AddSingleton<TimeProvider>(s_clock);
            services.UseTimeProviderForBackgroundAreas(TimeProvider.System);
            services.AddSingleton<IJobStore>(s_jobs);
            services.AddSingleton<ITaskStore>(s_tasks);
            services.AddSingleton<ITaskContentStore>(s_content);
            services.AddSingleton<ITaskEvents>(s_events);
            services.AddSingleton<IScheduleStore>(s_schedules);
            services.AddSingleton(sp => new SharedGrainStorage(sp.GetRequiredService<DeepCopier>()));
            services.AddSingleton<IGrainStorage>(sp => sp.GetRequiredService<SharedGrainStorage>());
            services.AddKeyedSingleton<IGrainStorage>(ProviderConstants.DEFAULT_STORAGE_PROVIDER_NAME, (sp, _) => sp.GetRequiredService<SharedGrainStorage>());
            services.AddOptions<WorkerOptions>().Configure<ILocalSiloDetails>((o, silo) => o.Node = silo.Name);
            siloBuilder.UseInMemoryReminderService();
            services.AddStevedore(config);
        }
    }
}

/// <summary>
/// Grain state kept apart from any silo (as a database keeps it), copied in and out. <see cref="FailWrite"/> makes a
/// write fail as if the silo died before it reached storage.
/// </summary>
public sealed class SharedGrainStorage(DeepCopier copier) : IGrainStorage
{
    private static readonly ConcurrentDictionary<(string, GrainId), (object State, string ETag)> s_states = new();

    /// <summary>When it returns true for a state about to be written, the write fails and storage keeps the old state.</summary>
    public static Func<GrainId, object, bool>? FailWrite { get; set; }

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        if (s_states.TryGetValue((stateName, grainId), out var stored))
        {
            grainState.State = copier.Copy((T)stored.State);
            grainState.ETag = stored.ETag;
            grainState.RecordExists = true;
        }

        return Task.CompletedTask;
    }

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        if (FailWrite?.Invoke(grainId, grainState.State!) == true)
        {
            throw new IOException("storage unreachable (injected)");
        }

        var etag = Guid.NewGuid().ToString("N");
        s_states[(stateName, grainId)] = (copier.Copy(grainState.State)!, etag);
        grainState.ETag = etag;
        grainState.RecordExists = true;
        return Task.CompletedTask;
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        s_states.TryRemove((stateName, grainId), out _);
        grainState.ETag = null;
        grainState.RecordExists = false;
        return Task.CompletedTask;
    }
}

[CollectionDefinition(Name)]
public sealed class ScheduleClusterCollection : ICollectionFixture<ScheduleClusterFixture>
{
    public const string Name = "schedule cluster";
}

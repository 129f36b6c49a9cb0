using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Stevedore.Application;
using Stevedore.Application.Triggers;
using Stevedore.Execution;
using Stevedore.Execution.Docker;
using Stevedore.Execution.Fake;
using Stevedore.Execution.Hot;
using Stevedore.Execution.Worker;
using Stevedore.Grains.Retention;
using Stevedore.Grains.Schedules;
using Stevedore.Options;
using Stevedore.Storage;
using Stevedore.Storage.Memory;
using Stevedore.Storage.Metered;

namespace Stevedore.Host.Hosting;

public static class StevedoreServiceCollectionExtensions
{
    /// <summary>
    /// Everything a Stevedore silo runs besides Orleans itself: stores, application services, the container driver
    /// and this silo's worker node. Safe to call twice. Used by the host and by the test cluster.
    /// </summary>
    public static IServiceCollection AddStevedore(this IServiceCollection services, IConfiguration configuration)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddOptions<QueueOptions>().Bind(configuration.GetSection(QueueOptions.Section)).ValidateOnStart();
        services.AddOptions<WorkerOptions>().Bind(configuration.GetSection(WorkerOptions.Section)).ValidateOnStart();
        services.AddOptions<DockerOptions>().Bind(configuration.GetSection(DockerOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<QueueOptions>, StevedoreOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<WorkerOptions>, StevedoreOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<DockerOptions>, StevedoreOptionsValidator>());
        services.AddOptions<RetentionOptions>().Bind(configuration.GetSection(RetentionOptions.Section)).ValidateOnStart();
        services.AddOptions<MetricsOptions>().Bind(configuration.GetSection(MetricsOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RetentionOptions>, RetentionOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<MetricsOptions>, MetricsOptionsValidator>());
        services.AddOptions<LogOptions>().Bind(configuration.GetSection(LogOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<LogOptions>, LogOptionsValidator>());

        services.TryAddSingleton<IJobStore, MemoryJobStore>();
        services.TryAddSingleton<ITaskStore, MemoryTaskStore>();
        services.TryAddSingleton<ITaskContentStore, MemoryTaskContentStore>();
        services.TryAddSingleton<ITaskIntake>(sp => MemoryTaskIntake.Over(sp.GetRequiredService<ITaskStore>(), sp.GetRequiredService<ITaskContentStore>()));
        services.TryAddSingleton<ITaskEvents, MemoryTaskEvents>();
        services.TryAddSingleton<IScheduleStore, MemoryScheduleStore>();
        services.TryAddSingleton<IWebhookStore, MemoryWebhookStore>();
        AddStoreMetrics(services);

        var driver = configuration["Stevedore:Worker:Driver"] ?? "docker";
        if (string.Equals(driver, "fake", StringComparison.OrdinalIgnoreCase))
        {
            services.TryAddSingleton<FakeContainerDriver>();
            services.TryAddSingleton<IContainerDriver>(sp => sp.GetRequiredService<FakeContainerDriver>());
            services.TryAddSingleton<FakeHotContainers>();
            services.TryAddSingleton<IHotContainerDriver>(sp => sp.GetRequiredService<FakeHotContainers>());
        }
        else
        {
            services.TryAddSingleton<IContainerDriver, DockerContainerDriver>();
            services.TryAddSingleton<IHotContainerDriver, DockerHotContainers>();
        }

        services.TryAddSingleton<JobService>();
        services.TryAddSingleton<LogFollowers>();
        services.TryAddSingleton<TaskLogReader>();
        services.TryAddSingleton<TaskService>();
        services.TryAddSingleton<RetentionSweeper>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ILifecycleParticipant<ISiloLifecycle>, JanitorStarter>());
        services.TryAddSingleton<ScheduleService>();
        services.TryAddSingleton<WebhookService>();
        services.TryAddSingleton<EventService>();
        services.AddOptions<ScheduleOptions>().Bind(configuration.GetSection(ScheduleOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ScheduleOptions>, ScheduleOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, ScheduleRecovery>());
        if (!services.Any(d => d.ServiceType == typeof(WorkerService)))
        {
            services.AddSingleton<WorkerService>();
            services.AddHostedService(sp => sp.GetRequiredService<WorkerService>());
        }

        return services;
    }

    /// <summary>Wraps whichever stores are registered (embedded or PostgreSQL) so that every call's latency is recorded. Once.</summary>
    private static void AddStoreMetrics(IServiceCollection services)
    {
        if (services.Any(d => d.ServiceType == typeof(StoreMetricsMarker)))
        {
            return;
        }

        services.AddSingleton<StoreMetricsMarker>();
        Decorate<ITaskStore>(services, inner => new MeteredTaskStore(inner));
        Decorate<ITaskContentStore>(services, inner => new MeteredTaskContentStore(inner));
        Decorate<ITaskIntake>(services, inner => new MeteredTaskIntake(inner));
        Decorate<IJobStore>(services, inner => new MeteredJobStore(inner));
    }

    private static void Decorate<T>(IServiceCollection services, Func<T, T> wrap)
        where T : class
    {
        var index = services.Select((d, i) => (d, i)).Last(x => x.d.ServiceType == typeof(T)).i;
        var inner = services[index];
        services[index] = ServiceDescriptor.Singleton<T>(sp => wrap((T)(inner.ImplementationInstance
            ?? inner.ImplementationFactory?.Invoke(sp)
            ?? ActivatorUtilities.CreateInstance(sp, inner.ImplementationType!))));
    }

    private sealed class StoreMetricsMarker;
}

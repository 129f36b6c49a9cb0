using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Stevedore.Application;
using Stevedore.Application.Triggers;
using Stevedore.Execution;
using Stevedore.Execution.Docker;
using Stevedore.Execution.Fake;
using Stevedore.Execution.Worker;
using Stevedore.Grains.Schedules;
using Stevedore.Options;
using Stevedore.Storage;
using Stevedore.Storage.Memory;

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
        services.AddOptions<LogOptions>().Bind(configuration.GetSection(LogOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<LogOptions>, LogOptionsValidator>());

        services.TryAddSingleton<IJobStore, MemoryJobStore>();
        services.TryAddSingleton<ITaskStore, MemoryTaskStore>();
        services.TryAddSingleton<ITaskContentStore, MemoryTaskContentStore>();
        services.TryAddSingleton<ITaskIntake>(sp => MemoryTaskIntake.Over(sp.GetRequiredService<ITaskStore>(), sp.GetRequiredService<ITaskContentStore>()));
        services.TryAddSingleton<ITaskEvents, MemoryTaskEvents>();
        services.TryAddSingleton<IScheduleStore, MemoryScheduleStore>();
        services.TryAddSingleton<IWebhookStore, MemoryWebhookStore>();

        var driver = configuration["Stevedore:Worker:Driver"] ?? "docker";
        if (string.Equals(driver, "fake", StringComparison.OrdinalIgnoreCase))
        {
            services.TryAddSingleton<FakeContainerDriver>();
            services.TryAddSingleton<IContainerDriver>(sp => sp.GetRequiredService<FakeContainerDriver>());
        }
        else
        {
            services.TryAddSingleton<IContainerDriver, DockerContainerDriver>();
        }

        services.TryAddSingleton<JobService>();
        services.TryAddSingleton<LogFollowers>();
        services.TryAddSingleton<TaskLogReader>();
        services.TryAddSingleton<TaskService>();
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
}

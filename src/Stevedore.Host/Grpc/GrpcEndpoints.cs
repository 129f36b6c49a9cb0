using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Stevedore.Api.V1;
using Stevedore.Host.Hosting;

namespace Stevedore.Host.Grpc;

/// <summary>The gRPC front end: its own HTTP/2-only Kestrel endpoint, services, health and reflection.</summary>
public static class GrpcEndpoints
{
    public const string UrlKey = "Kestrel:Endpoints:Grpc:Url";
    public const string DefaultUrl = "http://127.0.0.1:8081";

    /// <summary>Every method of the <c>stevedore.v1</c> API, from the descriptors of its files.</summary>
    public static IReadOnlyList<Google.Protobuf.Reflection.MethodDescriptor> ApiMethods { get; } =
    [
        .. new[] { TasksReflection.Descriptor, JobsReflection.Descriptor, SchedulesReflection.Descriptor, WebhooksReflection.Descriptor, EventsReflection.Descriptor }
            .SelectMany(f => f.Services).SelectMany(s => s.Methods),
    ];

    /// <summary>Largest gRPC request (a batch of 1000 tasks with their payloads); a larger one is RESOURCE_EXHAUSTED.</summary>
    public const int MaxReceiveMessageBytes = 64 * 1024 * 1024;

    /// <summary>
    /// The gRPC endpoint unless configured otherwise: <see cref="DefaultUrl"/>, HTTP/2 only (cleartext gRPC cannot share
    /// an HTTP/1.1 endpoint: clients would fail with HTTP_1_1_REQUIRED).
    /// </summary>
    public static void AddDefaults(IConfigurationBuilder builder, IConfiguration config)
    {
        var defaults = new Dictionary<string, string?>();
        if (string.IsNullOrEmpty(config[UrlKey]))
        {
            defaults[UrlKey] = DefaultUrl;
        }

        if (string.IsNullOrEmpty(config["Kestrel:Endpoints:Grpc:Protocols"]))
        {
            defaults["Kestrel:Endpoints:Grpc:Protocols"] = "Http2";
        }

        if (defaults.Count > 0)
        {
            builder.AddInMemoryCollection(defaults);
        }
    }

    public static IServiceCollection AddStevedoreGrpc(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<WebhookUrlOptions>().Bind(configuration.GetSection(WebhookUrlOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<WebhookUrlOptions>, WebhookUrlOptionsValidator>());
        services.TryAddSingleton<HookUrls>();
        services.AddGrpc(o =>
        {
            o.Interceptors.Add<GrpcGuard>();
            o.MaxReceiveMessageSize = MaxReceiveMessageBytes;
            o.EnableDetailedErrors = false;
        });
        services.AddGrpcReflection();
        services.AddGrpcHealthChecks().AddCheck<StevedoreHealthCheck>("stevedore");
        return services;
    }

    public static IEndpointRouteBuilder MapStevedoreGrpc(this IEndpointRouteBuilder app)
    {
        app.MapGrpcService<JobsGrpcService>();
        app.MapGrpcService<TasksGrpcService>();
        app.MapGrpcService<SchedulesGrpcService>();
        app.MapGrpcService<WebhooksGrpcService>();
        app.MapGrpcService<EventsGrpcService>();
        app.MapGrpcHealthChecksService();
        app.MapGrpcReflectionService();
        return app;
    }
}

/// <summary>The same checks as <c>/healthz</c>, for <c>grpc.health.v1.Health</c>.</summary>
public sealed class StevedoreHealthCheck(IServiceProvider services) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var problems = await HealthProbe.ProblemsAsync(services, cancellationToken);
        return problems.Count == 0 ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy(string.Join("; ", problems));
    }
}

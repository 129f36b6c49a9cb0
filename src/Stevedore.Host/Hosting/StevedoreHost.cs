using System.Globalization;
using System.Net;
using Npgsql;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using Orleans.Dashboard;
using Stevedore.Storage;
using Stevedore.Storage.Postgres;
using Stevedore.Execution.Worker;
using Stevedore.Host.Apis;
using Stevedore.Host.Grpc;
using Stevedore.Options;
using Stevedore.Host.WebConsole;

namespace Stevedore.Host.Hosting;

/// <summary>Composition of the Stevedore host: one ASP.NET Core app co-hosting an Orleans silo.</summary>
public static partial class StevedoreHost
{
    public const string AdminTokenKey = "Stevedore:Auth:AdminToken";

    /// <param name="args">Command-line arguments (configuration overrides such as <c>--Stevedore:Worker:Slots=4</c>).</param>
    /// <param name="configure">Extra configuration for tests, applied last.</param>
    public static async Task<WebApplication> BuildAsync(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        // The application is this assembly (where the console's pages are), whichever process hosts it (tests too).
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args, ContentRootPath = AppContext.BaseDirectory, ApplicationName = typeof(StevedoreHost).Assembly.GetName().Name,
        });
        configure?.Invoke(builder);
        var config = builder.Configuration;
        GrpcEndpoints.AddDefaults(config, config);
        using var bootLoggers = LoggerFactory.Create(l => l.AddConsole());
        var bootLog = bootLoggers.CreateLogger("Stevedore");

        var token = config[AdminTokenKey];
        if (token is not null && token.Length < 16)
        {
            throw new StartupException($"{AdminTokenKey} must be at least 16 characters (a random string, e.g. from `openssl rand -hex 24`).");
        }

        var open = string.IsNullOrEmpty(token);
        builder.Services.AddSingleton<BoundAddresses>();
        if (open)
        {
            // Checked on the addresses Kestrel really binds, whatever set them.
            builder.Services.AddHostedService<LoopbackGuard>();
        }

        var clusterId = config["Orleans:ClusterId"] ?? "stevedore";
        var siloPort = Port(config, "Orleans:SiloPort", 11111);
        var gatewayPort = Port(config, "Orleans:GatewayPort", 30000);
        builder.Services.Configure<WorkerOptions>(o => o.Node ??= $"{Environment.MachineName}:{siloPort}");

        var tracing = Telemetry.ReadTracing(config);
        var storage = StorageKind(config);
        NpgsqlDataSource? dataSource = null;
        if (storage == "postgres")
        {
            var connectionString = PostgresSetup.ConnectionString(config);
            dataSource = NpgsqlDataSource.Create(connectionString);
            await PostgresSetup.EnsureReadyAsync(dataSource, config, bootLog);
            builder.Services.AddSingleton(dataSource);
            builder.Services.AddSingleton<IJobStore, PostgresJobStore>();
            builder.Services.AddSingleton<ITaskStore, PostgresTaskStore>();
            builder.Services.AddSingleton<ITaskContentStore, PostgresTaskContentStore>();
            builder.Services.AddSingleton<ITaskIntake, PostgresTaskIntake>();
            builder.Services.AddSingleton<IScheduleStore, PostgresScheduleStore>();
            builder.Services.AddSingleton<IWebhookStore, PostgresWebhookStore>();
        }

        builder.AddStevedoreSilo(dataSource, clusterId, siloPort, gatewayPort, silo =>
        {
            if (tracing.IsEnabled)
            {
                silo.AddActivityPropagation();
            }
        });
        builder.Services.AddStevedore(config);
        builder.AddStevedoreTelemetry(tracing);
        builder.AddStevedoreConsole(dataSource);
        builder.Services.AddStevedoreGrpc(config);
        builder.Services.AddOpenApi(o =>
        {
            // The HTTP API and health; not the dashboard nor the gRPC methods (those are described by their .proto files).
            o.ShouldInclude = d => d.RelativePath is { } path && (path.StartsWith("v1/", StringComparison.Ordinal) || path == "v1" || path == "healthz");
            o.AddOperationTransformer(ApiDescriptions.DescribeRequestBodyAsync);
        });

        builder.Services.AddProblemDetails(o => o.CustomizeProblemDetails = Problems.DescribeException);
        builder.Services.ConfigureHttpJsonOptions(o =>
        {
            ApiJson.Configure(o.SerializerOptions);
            // Numbers are numbers: the API reads no quoted numbers, so its OpenAPI schemas must not offer them.
            o.SerializerOptions.NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.Strict;
        });
        builder.Services.AddOptions<KestrelServerOptions>().Configure<IOptions<QueueOptions>>((k, queue) =>
            k.Limits.MaxRequestBodySize = ApiLimits.Largest(queue.Value));

        var app = builder.Build();
        try
        {
            SiloSetup.RequireTlsBeyondLoopback(app.Services);
        }
        catch (StartupException)
        {
            await app.DisposeAsync();
            throw;
        }

        app.Use(Problems.RetryAfterOn503);
        app.Use(static (context, next) =>
        {
            context.Response.OnStarting(CloseAfterTooLarge, context);
            return next(context);
        });
        app.UseExceptionHandler(new ExceptionHandlerOptions { StatusCodeSelector = Problems.StatusFor });
        app.UseStatusCodePages(context => context.HttpContext.Response.StatusCode switch
        {
            StatusCodes.Status404NotFound => Problems.Write(context.HttpContext, StatusCodes.Status404NotFound,
                $"There is no endpoint {context.HttpContext.Request.Method} {context.HttpContext.Request.Path}; the API is under /v1 (see the README)."),
            StatusCodes.Status405MethodNotAllowed => Problems.Write(context.HttpContext, StatusCodes.Status405MethodNotAllowed,
                $"{context.HttpContext.Request.Method} is not allowed on {context.HttpContext.Request.Path}."),
            var status => Problems.Write(context.HttpContext, status, Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status)),
        });
        if (open)
        {
            app.UseMiddleware<LocalRequestsMiddleware>();
        }

        app.UseMiddleware<AdminTokenMiddleware>();
        app.UseMiddleware<Grpc.GrpcRequestCheck>();

        // One group for the HTTP API, so each endpoint gets its OpenAPI description (Apis/ApiDescriptions.cs).
        var api = app.MapGroup("");
        ((IEndpointConventionBuilder)api).Add(ApiDescriptions.Describe);
        api.MapOpsApi();
        api.MapJobsApi();
        api.MapTasksApi();
        api.MapSchedulesApi();
        api.MapWebhooksApi();
        api.MapEventsApi();
        app.MapOpenApi();
        app.MapStevedoreGrpc();
        app.MapOrleansDashboard(routePrefix: "/dashboard");
        app.MapStevedoreMetrics();
        app.MapStevedoreConsole();

        var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Stevedore");
        if (open)
        {
            LogOpen(log);
        }

        return app;
    }

    /// <summary><c>migrate</c>: creates or upgrades every table in the configured PostgreSQL, then exits.</summary>
    public static async Task<int> MigrateAsync(string[] args)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        using var loggers = LoggerFactory.Create(l => l.AddConsole());
        var log = loggers.CreateLogger("Stevedore");
        await using var dataSource = NpgsqlDataSource.Create(PostgresSetup.ConnectionString(builder.Configuration));
        await PostgresSetup.EnsureReadyAsync(dataSource, builder.Configuration, log, checkSchema: false);
        var version = await PostgresSchema.MigrateAsync(dataSource);
        Console.WriteLine($"Stevedore schema is at version {version} (and the Orleans tables are in place).");
        return 0;
    }

    private static string StorageKind(IConfiguration config)
    {
        var storage = config["Stevedore:Storage"] ?? "Memory";
        return storage.ToLowerInvariant() switch
        {
            "memory" => "memory",
            "postgres" => "postgres",
            _ => throw new StartupException($"Stevedore:Storage '{storage}' is unknown: use Memory (embedded, one silo, not durable) or Postgres (durable, clustered)."),
        };
    }

    private static int Port(IConfiguration config, string key, int fallback)
    {
        var text = config[key];
        if (text is null)
        {
            return fallback;
        }

        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and < 65536
            ? port
            : throw new StartupException($"{key} must be a TCP port from 1 to 65535; got '{text}'.");
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "No admin token is set (Stevedore:Auth:AdminToken): the API needs no credentials, listens on loopback only and answers only this machine's requests for its loopback names.")]
    private static partial void LogOpen(ILogger logger);

    /// <summary>
    /// A 413 closes its connection: the rest of the body was never read, so the connection cannot carry a next request,
    /// and without the header a client that reused it would see its next call fail with the connection reset.
    /// </summary>
    private static Task CloseAfterTooLarge(object state)
    {
        var context = (HttpContext)state;
        if (context.Response.StatusCode == StatusCodes.Status413PayloadTooLarge
            && (HttpProtocol.IsHttp11(context.Request.Protocol) || HttpProtocol.IsHttp10(context.Request.Protocol)))
        {
            context.Response.Headers.Connection = "close";
        }

        return Task.CompletedTask;
    }
}

/// <summary>A setting that cannot work; the message says which and how to fix it.</summary>
public sealed class StartupException(string message) : Exception(message);

using Npgsql;
using Stevedore.Execution;

namespace Stevedore.Host.Apis;

public static partial class OpsApi
{
    public static IEndpointRouteBuilder MapOpsApi(this IEndpointRouteBuilder app)
    {
        // 200 only when this silo answers grain calls, the container engine answers and (with PostgreSQL) the database
        // does. The body names what is wrong without addresses or exception text (anyone who reaches /healthz reads
        // it); the details go to the host's log.
        app.MapGet("/healthz", async (IGrainFactory grains, IContainerDriver driver, IServiceProvider services, ILoggerFactory loggers, CancellationToken ct) =>
        {
            var log = loggers.CreateLogger("Stevedore.Health");
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(3));
            var problems = new List<string>();
            try
            {
                var hosts = await grains.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true).WaitAsync(timeout.Token);
                if (hosts.Count == 0)
                {
                    problems.Add("silo: no active silo in the cluster");
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                LogUnhealthy(log, "silo", ex.Message);
                problems.Add("silo: not answering (details in the host's log)");
            }

            if (await driver.CheckHealthAsync(timeout.Token) is { } dockerProblem)
            {
                LogUnhealthy(log, "docker", dockerProblem);
                problems.Add("docker: the container engine does not answer (details in the host's log)");
            }

            if (services.GetService<NpgsqlDataSource>() is { } database)
            {
                try
                {
                    await using var ping = database.CreateCommand("SELECT 1");
                    await ping.ExecuteScalarAsync(timeout.Token);
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
                {
                    LogUnhealthy(log, "postgres", ex.Message);
                    problems.Add("postgres: not answering (details in the host's log)");
                }
            }

            return problems.Count == 0
                ? Results.Text("ok\n", "text/plain")
                : Results.Text(string.Join('\n', problems) + "\n", "text/plain", statusCode: StatusCodes.Status503ServiceUnavailable);
        });

        return app;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Health check: {Component} is unhealthy: {Detail}")]
    private static partial void LogUnhealthy(ILogger logger, string component, string detail);
}

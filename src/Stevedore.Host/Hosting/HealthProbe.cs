using Npgsql;
using Stevedore.Execution;

namespace Stevedore.Host.Hosting;

/// <summary>What is wrong with this silo, if anything: the cluster, the container engine and (with PostgreSQL) the database.</summary>
public static partial class HealthProbe
{
    /// <summary>
    /// One line per problem naming the part, without addresses or error text (anyone who reaches /healthz reads it; the
    /// details go to the host's log); empty when everything answers (within 3 s).
    /// </summary>
    public static async Task<IReadOnlyList<string>> ProblemsAsync(IServiceProvider services, CancellationToken ct)
    {
        var log = services.GetRequiredService<ILoggerFactory>().CreateLogger("Stevedore.Health");
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(3));
        var problems = new List<string>();
        try
        {
            var hosts = await services.GetRequiredService<IGrainFactory>().GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true).WaitAsync(timeout.Token);
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

        if (await services.GetRequiredService<IContainerDriver>().CheckHealthAsync(timeout.Token) is { } dockerProblem)
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

        return problems;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Health check: {Component} is unhealthy: {Detail}")]
    private static partial void LogUnhealthy(ILogger logger, string component, string detail);
}

using Npgsql;
using Stevedore.Execution;

namespace Stevedore.Host.Hosting;

/// <summary>What is wrong with this silo, if anything: the cluster, the container engine and (with PostgreSQL) the database.</summary>
public static class HealthProbe
{
    /// <summary>One line per problem, without internal addresses; empty when everything answers (within 3 s).</summary>
    public static async Task<IReadOnlyList<string>> ProblemsAsync(IServiceProvider services, CancellationToken ct)
    {
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
            problems.Add($"silo: not answering ({ex.Message})");
        }

        if (await services.GetRequiredService<IContainerDriver>().CheckHealthAsync(timeout.Token) is { } dockerProblem)
        {
            problems.Add($"docker: {dockerProblem}");
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
                problems.Add($"postgres: not answering ({ex.Message})");
            }
        }

        return problems;
    }
}

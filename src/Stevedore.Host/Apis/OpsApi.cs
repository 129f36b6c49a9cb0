using Npgsql;
using Stevedore.Execution;

namespace Stevedore.Host.Apis;

public static class OpsApi
{
    public static IEndpointRouteBuilder MapOpsApi(this IEndpointRouteBuilder app)
    {
        // 200 only when this silo answers grain calls, the container engine answers and (with PostgreSQL) the database does.
        app.MapGet("/healthz", async (IGrainFactory grains, IContainerDriver driver, IServiceProvider services, CancellationToken ct) =>
        {
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
                problems.Add($"silo: not answering ({ex.Message})");
            }

            if (await driver.CheckHealthAsync(timeout.Token) is { } dockerProblem)
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

            return problems.Count == 0
                ? Results.Text("ok\n", "text/plain")
                : Results.Text(string.Join('\n', problems) + "\n", "text/plain", statusCode: StatusCodes.Status503ServiceUnavailable);
        });

        return app;
    }
}

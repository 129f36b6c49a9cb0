using Stevedore.Execution;

namespace Stevedore.Host.Apis;

public static class OpsApi
{
    public static IEndpointRouteBuilder MapOpsApi(this IEndpointRouteBuilder app)
    {
        // 200 only when this silo answers grain calls and the container engine answers.
        app.MapGet("/healthz", async (IGrainFactory grains, IContainerDriver driver, CancellationToken ct) =>
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

            return problems.Count == 0
                ? Results.Text("ok\n", "text/plain")
                : Results.Text(string.Join('\n', problems) + "\n", "text/plain", statusCode: StatusCodes.Status503ServiceUnavailable);
        });

        return app;
    }
}

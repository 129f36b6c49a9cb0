using Stevedore.Host.Hosting;

namespace Stevedore.Host.Apis;

public static class OpsApi
{
    public static IEndpointRouteBuilder MapOpsApi(this IEndpointRouteBuilder app)
    {
        // 200 only when this silo answers grain calls, the container engine answers and (with PostgreSQL) the database does.
        app.MapGet("/healthz", async (IServiceProvider services, CancellationToken ct) =>
        {
            var problems = await HealthProbe.ProblemsAsync(services, ct);
            return problems.Count == 0
                ? Results.Text("ok\n", "text/plain")
                : Results.Text(string.Join('\n', problems) + "\n", "text/plain", statusCode: StatusCodes.Status503ServiceUnavailable);
        });

        return app;
    }
}

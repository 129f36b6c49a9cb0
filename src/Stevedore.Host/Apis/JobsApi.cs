using Microsoft.Extensions.Options;
using Stevedore.Application;
using Stevedore.Options;

namespace Stevedore.Host.Apis;

public static class JobsApi
{
    public static IEndpointRouteBuilder MapJobsApi(this IEndpointRouteBuilder app)
    {
        var jobs = app.MapGroup("/v1/jobs");

        jobs.MapPut("/{name}", async (string name, HttpRequest request, JobService service, IOptions<QueueOptions> options) =>
        {
            var (body, problem) = await JsonBody.ReadAsync(request, ApiLimits.Single(options.Value));
            if (problem is not null)
            {
                return problem;
            }

            using (var document = body!.Parse())
            {
                var errors = new FieldErrors();
                var draft = JsonInput.ReadJob(document.RootElement, errors, name);
                if (errors.Any)
                {
                    return Problems.Invalid(errors);
                }

                var result = await service.PutAsync(name, draft);
                if (!result.Ok)
                {
                    return Problems.From(result.Error!);
                }

                var response = JobResponse.From(result.Value!.Job);
                return result.Value.Created
                    ? Results.Created($"/v1/jobs/{name}", response)
                    : Results.Ok(response);
            }
        });

        jobs.MapGet("/", async (JobService service, CancellationToken ct) =>
            Results.Ok(new { items = (await service.ListAsync(ct)).Select(JobResponse.From) }));

        jobs.MapGet("/{name}", async (string name, JobService service) =>
            Respond(await service.GetAsync(name), j => Results.Ok(JobResponse.From(j))));

        jobs.MapDelete("/{name}", async (string name, JobService service) =>
            Respond(await service.DeleteAsync(name), _ => Results.NoContent()));

        jobs.MapPost("/{name}/pause", async (string name, JobService service) =>
            Respond(await service.SetPausedAsync(name, true), j => Results.Ok(JobResponse.From(j))));

        jobs.MapPost("/{name}/resume", async (string name, JobService service) =>
            Respond(await service.SetPausedAsync(name, false), j => Results.Ok(JobResponse.From(j))));

        jobs.MapGet("/{name}/stats", async (string name, JobService service, CancellationToken ct) =>
            Respond(await service.StatsAsync(name, ct), s => Results.Ok(new StatsResponse(
                s.Job, s.Counts.ToDictionary(kv => kv.Key.ToWire(), kv => kv.Value), s.RunningNow, s.QueuedNow))));

        return app;
    }

    internal static IResult Respond<T>(AppResult<T> result, Func<T, IResult> ok) =>
        result.Ok ? ok(result.Value!) : Problems.From(result.Error!);
}

using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Stevedore.Application;
using Stevedore.Application.Triggers;
using Stevedore.Options;

namespace Stevedore.Host.Apis;

public static class SchedulesApi
{
    private static readonly string[] s_fields =
        ["cron", "timeZone", "everySeconds", "startAt", "endAt", "maxRuns", "payload", "priority", "labels", "overlap"];

    public static IEndpointRouteBuilder MapSchedulesApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/jobs/{name}/schedules", async (string name, HttpRequest request, ScheduleService service, IOptions<QueueOptions> options) =>
        {
            var (body, problem) = await JsonBody.ReadAsync(request, ApiLimits.Single(options.Value));
            if (problem is not null)
            {
                return problem;
            }

            using (var document = body!.Parse())
            {
                var errors = new FieldErrors();
                var draft = ReadSchedule(document.RootElement, errors);
                if (errors.Any)
                {
                    return Problems.Invalid(errors);
                }

                return JobsApi.Respond(await service.CreateAsync(name, draft),
                    s => Results.Created($"/v1/schedules/{s.Id}", ScheduleResponse.From(s)));
            }
        });

        var schedules = app.MapGroup("/v1/schedules");

        schedules.MapGet("/", async (HttpRequest request, ScheduleService service, CancellationToken ct) =>
        {
            var unknown = request.Query.Keys.Where(k => k != "job").ToList();
            if (unknown.Count > 0)
            {
                var errors = new FieldErrors();
                unknown.ForEach(k => errors.Add(k, "is not a known query parameter; expected: job"));
                return Problems.Invalid(errors);
            }

            return JobsApi.Respond(await service.ListAsync(request.Query["job"].FirstOrDefault(), ct),
                list => Results.Ok(new ScheduleListResponse(list.Select(ScheduleResponse.From).ToList())));
        });

        schedules.MapGet("/{id}", async (string id, ScheduleService service) =>
            JobsApi.Respond(await service.GetAsync(id), s => Results.Ok(ScheduleResponse.From(s))));

        schedules.MapDelete("/{id}", async (string id, ScheduleService service) =>
            JobsApi.Respond(await service.DeleteAsync(id), _ => Results.NoContent()));

        schedules.MapPost("/{id}/pause", async (string id, ScheduleService service) =>
            JobsApi.Respond(await service.SetPausedAsync(id, true), s => Results.Ok(ScheduleResponse.From(s))));

        schedules.MapPost("/{id}/resume", async (string id, ScheduleService service) =>
            JobsApi.Respond(await service.SetPausedAsync(id, false), s => Results.Ok(ScheduleResponse.From(s))));

        return app;
    }

    public static ScheduleDraft ReadSchedule(JsonElement body, FieldErrors errors)
    {
        var draft = new ScheduleDraft();
        foreach (var property in body.EnumerateObject())
        {
            var value = property.Value;
            if (value.ValueKind == JsonValueKind.Null)
            {
                continue;
            }

            var field = property.Name;
            draft = field switch
            {
                "cron" => draft with { Cron = JsonInput.String(value, field, errors) },
                "timeZone" => draft with { TimeZone = JsonInput.String(value, field, errors) },
                "everySeconds" => draft with { EverySeconds = JsonInput.Integer(value, field, errors) },
                "startAt" => draft with { StartAt = Instant(value, field, errors) },
                "endAt" => draft with { EndAt = Instant(value, field, errors) },
                "maxRuns" => draft with { MaxRuns = JsonInput.Integer(value, field, errors) },
                // As for a task: a string is its raw text, anything else its JSON text.
                "payload" => draft with { Payload = Encoding.UTF8.GetBytes(value.ValueKind == JsonValueKind.String ? value.GetString()! : value.GetRawText()) },
                "priority" => draft with { Priority = JsonInput.Integer(value, field, errors) },
                "labels" => draft with { Labels = JsonInput.StringMap(value, field, errors) },
                "overlap" => draft with { Overlap = JsonInput.String(value, field, errors) },
                _ => Unknown(field, errors, draft),
            };
        }

        return draft;
    }

    private static DateTimeOffset? Instant(JsonElement value, string field, FieldErrors errors)
    {
        if (value.ValueKind == JsonValueKind.String
            && DateTimeOffset.TryParse(value.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var instant))
        {
            return instant;
        }

        errors.Add(field, "must be an ISO 8601 date and time, e.g. \"2026-12-01T09:00:00Z\"");
        return null;
    }

    private static ScheduleDraft Unknown(string field, FieldErrors errors, ScheduleDraft draft)
    {
        JsonInput.Unknown(field, s_fields, errors);
        return draft;
    }
}

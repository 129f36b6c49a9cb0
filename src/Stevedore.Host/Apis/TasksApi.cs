using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Stevedore.Application;
using Stevedore.Options;
using Stevedore.Storage;

namespace Stevedore.Host.Apis;

public static class TasksApi
{
    public static IEndpointRouteBuilder MapTasksApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/jobs/{name}/tasks", async (string name, HttpRequest request, TaskService service, IOptions<QueueOptions> options) =>
        {
            var (wait, waitProblem) = SyncInvoke.ReadWait(request.Query);
            if (waitProblem is not null)
            {
                return waitProblem;
            }

            var (body, problem) = await JsonBody.ReadAsync(request, ApiLimits.Single(options.Value), allowEmpty: true);
            if (problem is not null)
            {
                return problem;
            }

            using (var document = body?.Parse())
            {
                var errors = new FieldErrors();
                var draft = (document is null ? new TaskDraft() : JsonInput.ReadTask(document.RootElement, errors)) with { TraceParent = TraceParentOf(request) };
                if (errors.Any)
                {
                    return Problems.Invalid(errors);
                }

                if (wait is > 0)
                {
                    return SyncInvoke.Respond(await service.RunAsync(name, draft, wait, request.HttpContext.RequestAborted));
                }

                var result = await service.EnqueueAsync(name, draft);
                if (!result.Ok)
                {
                    return Problems.From(result.Error!);
                }

                var task = TaskResponse.From(result.Value!.Task);
                return result.Value.Existing
                    ? Results.Ok(task)
                    : Results.Accepted($"/v1/tasks/{task.Id}", task);
            }
        });

        app.MapPost("/v1/jobs/{name}/tasks:batch", async (string name, HttpRequest request, TaskService service, IOptions<QueueOptions> options) =>
        {
            // Items are counted and measured while the body arrives; each is then parsed on its own.
            var (body, problem) = await JsonBody.ReadAsync(request, ApiLimits.Batch(options.Value));
            if (problem is not null)
            {
                return problem;
            }

            var errors = new FieldErrors();
            if (!body!.ItemsFound)
            {
                errors.Add("tasks", "is required: an array of task objects, e.g. {\"tasks\":[{\"payload\":1},{\"payload\":2}]}");
                return Problems.Invalid(errors);
            }

            foreach (var property in body.OtherProperties)
            {
                errors.Add(property, "is not a known field; expected: tasks");
            }

            var drafts = new List<TaskDraft>(body.Items.Count);
            for (var i = 0; i < body.Items.Count; i++)
            {
                using var item = body.ParseItem(i);
                drafts.Add(JsonInput.ReadTask(item.RootElement, errors, $"tasks[{i}].") with { TraceParent = TraceParentOf(request) });
            }

            if (errors.Any)
            {
                return Problems.Invalid(errors);
            }

            var result = await service.EnqueueBatchAsync(name, drafts);
            return result.Ok ? Results.Json(new BatchResponse(result.Value!), statusCode: StatusCodes.Status202Accepted) : Problems.From(result.Error!);
        });

        var tasks = app.MapGroup("/v1/tasks");

        tasks.MapGet("/", async (HttpRequest request, TaskService service, CancellationToken ct) =>
        {
            var q = request.Query;
            var unknown = q.Keys.Where(k => k is not ("job" or "status" or "label" or "limit" or "cursor")).ToList();
            if (unknown.Count > 0)
            {
                var errors = new FieldErrors();
                foreach (var key in unknown)
                {
                    errors.Add(key, "is not a known query parameter; expected: job, status, label, limit, cursor");
                }

                return Problems.Invalid(errors);
            }

            var result = await service.ListAsync(new TaskListDraft
            {
                Job = q["job"].FirstOrDefault(),
                Status = q["status"].FirstOrDefault(),
                Label = q["label"].FirstOrDefault(),
                Limit = q["limit"].FirstOrDefault(),
                Cursor = q["cursor"].FirstOrDefault(),
            }, ct);
            return JobsApi.Respond(result, page => Results.Ok(new TaskListResponse(page.Items.Select(TaskResponse.From).ToList(), page.NextCursor)));
        });

        tasks.MapGet("/{id}", async (string id, TaskService service) =>
            JobsApi.Respond(await service.GetAsync(id), t => Results.Ok(TaskResponse.From(t))));

        tasks.MapPost("/{id}/cancel", async (string id, TaskService service) =>
            JobsApi.Respond(await service.CancelAsync(id), t => Results.Ok(TaskResponse.From(t))));

        tasks.MapPost("/{id}/retry", async (string id, TaskService service) =>
            JobsApi.Respond(await service.RetryAsync(id), r => Results.Accepted($"/v1/tasks/{r.Task.Id}", TaskResponse.From(r.Task))));

        // A dead letter queued again once: a second redrive within the idempotency window returns the same retry (200).
        tasks.MapPost("/{id}/redrive", async (string id, TaskService service) =>
            JobsApi.Respond(await service.RedriveOneAsync(id), r => r.Existing
                ? Results.Ok(TaskResponse.From(r.Task))
                : Results.Accepted($"/v1/tasks/{r.Task.Id}", TaskResponse.From(r.Task))));

        app.MapPost("/v1/jobs/{name}/tasks:redrive", async (string name, TaskService service, CancellationToken ct) =>
            JobsApi.Respond(await service.RedriveAsync(name, ct), r => Results.Ok(new RedriveResponse(r.Queued, r.AlreadyRedriven, r.More))));

        tasks.MapDelete("/{id}", async (string id, TaskService service, CancellationToken ct) =>
            JobsApi.Respond(await service.DeleteAsync(id, ct), _ => Results.NoContent()));

        tasks.MapGet("/{id}/result", async (string id, TaskService service) =>
            JobsApi.Respond(await service.GetResultAsync(id), bytes => Results.Bytes(bytes.ToArray(), ContentTypeOf(bytes.Span))));

        tasks.MapGet("/{id}/log", async (string id, HttpContext context, TaskService service) =>
        {
            var q = context.Request.Query;
            var errors = new FieldErrors();
            LogStream? only = q["stream"].FirstOrDefault() switch
            {
                null => null,
                "stdout" => LogStream.Stdout,
                "stderr" => LogStream.Stderr,
                var other => Invalid(errors, "stream", $"'{other}' is not a stream: use stdout or stderr, or leave it out for both"),
            };
            var follow = false;
            if (q["follow"].FirstOrDefault() is { } followText && !bool.TryParse(followText, out follow))
            {
                errors.Add("follow", "must be true or false");
            }

            if (errors.Any)
            {
                return Problems.Invalid(errors);
            }

            var started = false;
            var error = await service.ReadLogAsync(id, only, follow, async (data, ct) =>
            {
                if (!started)
                {
                    started = true;
                    context.Response.ContentType = "text/plain; charset=utf-8";
                }

                await context.Response.Body.WriteAsync(data, ct);
                if (follow)
                {
                    await context.Response.Body.FlushAsync(ct);
                }
            }, context.RequestAborted);
            if (error is not null)
            {
                return Problems.From(error);
            }

            return started ? Results.Empty : Results.Text("", "text/plain; charset=utf-8");
        });

        return app;
    }

    private static string? TraceParentOf(HttpRequest request) => request.Headers.TraceParent.FirstOrDefault();

    private static LogStream? Invalid(FieldErrors errors, string field, string message)
    {
        errors.Add(field, message);
        return null;
    }

    private static string ContentTypeOf(ReadOnlySpan<byte> bytes)
    {
        try
        {
            var reader = new Utf8JsonReader(bytes);
            if (JsonDocument.TryParseValue(ref reader, out var document))
            {
                document.Dispose();
                if (reader.BytesConsumed == bytes.Length || bytes[(int)reader.BytesConsumed..].Trim(" \r\n\t"u8).IsEmpty)
                {
                    return "application/json";
                }
            }
        }
        catch (JsonException)
        {
        }

        return System.Text.Unicode.Utf8.IsValid(bytes) ? "text/plain; charset=utf-8" : "application/octet-stream";
    }
}

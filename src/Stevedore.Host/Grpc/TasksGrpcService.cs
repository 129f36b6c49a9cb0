using Grpc.Core;
using Stevedore.Application;
using Stevedore.Storage;
using V1 = Stevedore.Api.V1;

namespace Stevedore.Host.Grpc;

/// <summary><c>stevedore.v1.Tasks</c>: a thin adapter over <see cref="TaskService"/>.</summary>
public sealed class TasksGrpcService(TaskService tasks) : V1.Tasks.TasksBase
{
    public override async Task<V1.EnqueueResponse> Enqueue(V1.EnqueueRequest request, ServerCallContext context)
    {
        var result = (await tasks.EnqueueAsync(request.Job, GrpcMapping.ToDraft(request.Task))).Unwrap();
        return new V1.EnqueueResponse { Task = GrpcMapping.ToMessage(result.Task), Existing = result.Existing };
    }

    public override async Task<V1.EnqueueBatchResponse> EnqueueBatch(V1.EnqueueBatchRequest request, ServerCallContext context)
    {
        var ids = (await tasks.EnqueueBatchAsync(request.Job, request.Tasks.Select(GrpcMapping.ToDraft).ToList())).Unwrap();
        var response = new V1.EnqueueBatchResponse();
        response.Ids.AddRange(ids);
        return response;
    }

    public override async Task<V1.RunResponse> Run(V1.RunRequest request, ServerCallContext context)
    {
        var wait = request.WaitSeconds == 0 ? Validation.MaxWaitSeconds : request.WaitSeconds;
        var run = (await tasks.RunAsync(request.Job, GrpcMapping.ToDraft(request.Task), wait, context.CancellationToken)).Unwrap();
        var response = new V1.RunResponse { Task = GrpcMapping.ToMessage(run.Task), Finished = run.Final, Existing = run.Existing };
        if (run.Result is { } result)
        {
            response.Result = GrpcMapping.Bytes(result);
        }

        return response;
    }

    public override async Task<V1.TaskInfo> GetTask(V1.TaskRequest request, ServerCallContext context) =>
        GrpcMapping.ToMessage((await tasks.GetAsync(request.Id)).Unwrap());

    public override async Task<V1.ListTasksResponse> ListTasks(V1.ListTasksRequest request, ServerCallContext context)
    {
        var page = (await tasks.ListAsync(new TaskListDraft
        {
            Job = Optional(request.Job),
            Status = GrpcMapping.ToWire(request.Status),
            Label = Optional(request.Label),
            Limit = request.Limit == 0 ? null : request.Limit.ToString(System.Globalization.CultureInfo.InvariantCulture),
            Cursor = Optional(request.Cursor),
        }, context.CancellationToken)).Unwrap();
        var response = new V1.ListTasksResponse { NextCursor = page.NextCursor ?? "" };
        response.Items.AddRange(page.Items.Select(GrpcMapping.ToMessage));
        return response;
    }

    public override async Task<V1.TaskInfo> CancelTask(V1.TaskRequest request, ServerCallContext context) =>
        GrpcMapping.ToMessage((await tasks.CancelAsync(request.Id)).Unwrap());

    public override async Task<V1.TaskInfo> RetryTask(V1.TaskRequest request, ServerCallContext context) =>
        GrpcMapping.ToMessage((await tasks.RetryAsync(request.Id)).Unwrap().Task);

    public override async Task<V1.GetResultResponse> GetResult(V1.TaskRequest request, ServerCallContext context) =>
        new() { Result = GrpcMapping.Bytes((await tasks.GetResultAsync(request.Id)).Unwrap()) };

    public override async Task StreamLog(V1.StreamLogRequest request, IServerStreamWriter<V1.LogChunk> responseStream, ServerCallContext context)
    {
        LogStream? only = request.Stream switch
        {
            V1.LogStreamSelector.All => null,
            V1.LogStreamSelector.Stdout => LogStream.Stdout,
            V1.LogStreamSelector.Stderr => LogStream.Stderr,
            var other => throw GrpcErrors.Invalid(Field("stream", $"{(int)other} is not a stream selector: use ALL, STDOUT or STDERR")),
        };
        var error = await tasks.ReadLogAsync(request.Id, only, request.Follow,
            (data, _) => responseStream.WriteAsync(new V1.LogChunk { Data = GrpcMapping.Bytes(data) }),
            context.CancellationToken);
        if (error is not null)
        {
            throw GrpcErrors.From(error);
        }
    }

    public override async Task WatchTask(V1.TaskRequest request, IServerStreamWriter<V1.TaskInfo> responseStream, ServerCallContext context)
    {
        // Refuse an unknown task with NOT_FOUND rather than an empty stream.
        (await tasks.GetAsync(request.Id)).Unwrap();
        await foreach (var task in tasks.WatchAsync(request.Id, context.CancellationToken))
        {
            await responseStream.WriteAsync(GrpcMapping.ToMessage(task), context.CancellationToken);
        }
    }

    private static string? Optional(string text) => text.Length == 0 ? null : text;

    private static FieldErrors Field(string field, string message)
    {
        var errors = new FieldErrors();
        errors.Add(field, message);
        return errors;
    }
}

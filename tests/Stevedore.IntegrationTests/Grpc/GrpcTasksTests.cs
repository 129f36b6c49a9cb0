using System.Text;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;

namespace Stevedore.IntegrationTests.Grpc;

// Inside the namespace: the API's messages win over the host's types of the same name (JobSpec, TaskRequest).
using Stevedore.Api.V1;

/// <summary><c>stevedore.v1.Tasks</c> over a real gRPC channel, running real containers.</summary>
[Collection(ServerCollection.Name)]
public sealed class GrpcTasksTests(StevedoreServer server) : IDisposable
{
    private readonly GrpcChannel _channel = server.NewChannel();

    private Tasks.TasksClient Tasks => new(_channel);

    public void Dispose() => _channel.Dispose();

    private async Task<string> JobAsync(string prefix, params string[] command)
    {
        var name = Names.Unique(prefix);
        var spec = new JobSpec { Image = StevedoreServer.Image, TimeoutSeconds = 60 };
        spec.Command.AddRange(command);
        await new Jobs.JobsClient(_channel).PutJobAsync(new PutJobRequest { Name = name, Spec = spec });
        return name;
    }

    private static TaskInput Payload(string text) => new() { Payload = ByteString.CopyFromUtf8(text) };

    [Fact]
    public async Task Run_AnswersTheFinishedTask_WithItsResult()
    {
        var job = await JobAsync("grun", "sh", "-c", "echo running; printf 'got:%s' \"$(cat)\" > $STEVEDORE_RESULT_FILE");
        var run = await Tasks.RunAsync(new RunRequest { Job = job, Task = Payload("ping"), WaitSeconds = 60 });
        Assert.True(run.Finished);
        Assert.Equal(TaskState.Succeeded, run.Task.Status);
        Assert.Equal(0, run.Task.ExitCode);
        Assert.Equal("got:ping", run.Result.ToStringUtf8());
    }

    [Fact]
    public async Task Run_AtTheDeadline_AnswersTheUnfinishedTask()
    {
        var job = await JobAsync("grunslow", "sleep", "30");
        var run = await Tasks.RunAsync(new RunRequest { Job = job, WaitSeconds = 1 });
        Assert.False(run.Finished);
        Assert.Contains(run.Task.Status, new[] { TaskState.Queued, TaskState.Running });
        Assert.False(run.HasResult);
        await Tasks.CancelTaskAsync(new TaskRequest { Id = run.Task.Id });
    }

    [Fact]
    public async Task Enqueue_Get_List_Result_Log_Retry()
    {
        var job = await JobAsync("gtask", "sh", "-c", "echo out; echo err >&2; cat > $STEVEDORE_RESULT_FILE");
        var input = Payload("payload-1");
        input.Labels["team"] = "a";
        input.Priority = 2;
        var enqueued = await Tasks.EnqueueAsync(new EnqueueRequest { Job = job, Task = input });
        Assert.False(enqueued.Existing);
        Assert.Equal(TaskState.Queued, enqueued.Task.Status);
        Assert.Equal(2, enqueued.Task.Priority);
        var id = enqueued.Task.Id;
        await server.WaitForEndAsync(id);

        var task = await Tasks.GetTaskAsync(new TaskRequest { Id = id });
        Assert.Equal(TaskState.Succeeded, task.Status);
        Assert.Equal("a", task.Labels["team"]);
        Assert.Single(task.Attempts);
        Assert.Equal(TaskState.Succeeded, task.Attempts[0].Status);

        Assert.Equal("payload-1", (await Tasks.GetResultAsync(new TaskRequest { Id = id })).Result.ToStringUtf8());
        var log = await ReadLogAsync(new StreamLogRequest { Id = id });
        Assert.True(log is "out\nerr\n" or "err\nout\n", log);
        Assert.Equal("out\n", await ReadLogAsync(new StreamLogRequest { Id = id, Stream = LogStreamSelector.Stdout }));
        Assert.Equal("err\n", await ReadLogAsync(new StreamLogRequest { Id = id, Stream = LogStreamSelector.Stderr }));

        var page = await Tasks.ListTasksAsync(new ListTasksRequest { Job = job, Status = TaskState.Succeeded, Label = "team:a" });
        Assert.Equal(id, Assert.Single(page.Items).Id);
        Assert.Equal("", page.NextCursor);

        var retry = await Tasks.RetryTaskAsync(new TaskRequest { Id = id });
        Assert.Equal(id, retry.RetryOf);
        await server.WaitForEndAsync(retry.Id);
        Assert.Equal("payload-1", (await Tasks.GetResultAsync(new TaskRequest { Id = retry.Id })).Result.ToStringUtf8());
        await GrpcAssert.RefusedAsync(StatusCode.FailedPrecondition, () => Tasks.CancelTaskAsync(new TaskRequest { Id = id }).ResponseAsync);
    }

    [Fact]
    public async Task Enqueue_IdempotencyKey_AnswersTheExistingTask()
    {
        var job = await JobAsync("gidem", "true");
        var input = new TaskInput { IdempotencyKey = "order-1" };
        var first = await Tasks.EnqueueAsync(new EnqueueRequest { Job = job, Task = input });
        var second = await Tasks.EnqueueAsync(new EnqueueRequest { Job = job, Task = input });
        Assert.True(second.Existing);
        Assert.Equal(first.Task.Id, second.Task.Id);
    }

    [Fact]
    public async Task EnqueueBatch_AnswersIdsInOrder_AndChecksEveryItem()
    {
        var job = await JobAsync("gbatch", "true");
        await new Jobs.JobsClient(_channel).PauseJobAsync(new JobRequest { Name = job });
        var request = new EnqueueBatchRequest { Job = job };
        request.Tasks.Add(Enumerable.Range(0, 5).Select(i => Payload($"p{i}")));
        var ids = (await Tasks.EnqueueBatchAsync(request)).Ids;
        Assert.Equal(5, ids.Count);
        Assert.Equal(ids.Order(StringComparer.Ordinal), ids);

        var bad = new EnqueueBatchRequest { Job = job };
        bad.Tasks.Add(new TaskInput());
        bad.Tasks.Add(new TaskInput { Priority = 9 });
        await GrpcAssert.FieldErrorAsync("tasks[1].priority", () => Tasks.EnqueueBatchAsync(bad).ResponseAsync);
        await GrpcAssert.FieldErrorAsync("tasks", () => Tasks.EnqueueBatchAsync(new EnqueueBatchRequest { Job = job }).ResponseAsync);
        Assert.Equal(5, (await new Jobs.JobsClient(_channel).GetJobStatsAsync(new JobRequest { Name = job })).QueuedNow);
    }

    public static TheoryData<TaskInput, string> BadTasks => new()
    {
        { new TaskInput { Priority = 3 }, "priority" },
        { new TaskInput { DelaySeconds = -1 }, "delaySeconds" },
        { new TaskInput { TimeoutSeconds = 0 }, "timeoutSeconds" },
        { new TaskInput { IdempotencyKey = "" }, "idempotencyKey" },
        { new TaskInput { Labels = { ["bad key!"] = "v" } }, "labels.bad key!" },
    };

    [Theory]
    [MemberData(nameof(BadTasks))]
    public async Task Enqueue_InvalidInput_IsInvalidArgument_NamingTheField(TaskInput input, string field)
    {
        var job = await JobAsync("gbadtask", "true");
        await GrpcAssert.FieldErrorAsync(field, () => Tasks.EnqueueAsync(new EnqueueRequest { Job = job, Task = input }).ResponseAsync);
        await GrpcAssert.FieldErrorAsync(field, () => Tasks.RunAsync(new RunRequest { Job = job, Task = input }).ResponseAsync);
    }

    [Fact]
    public async Task BadListingsAndWaits_AreInvalidArgument()
    {
        var job = await JobAsync("gbadlist", "true");
        await GrpcAssert.FieldErrorAsync("status", () => Tasks.ListTasksAsync(new ListTasksRequest { Status = (TaskState)42 }).ResponseAsync);
        await GrpcAssert.FieldErrorAsync("limit", () => Tasks.ListTasksAsync(new ListTasksRequest { Limit = 5000 }).ResponseAsync);
        await GrpcAssert.FieldErrorAsync("label", () => Tasks.ListTasksAsync(new ListTasksRequest { Label = "nocolon" }).ResponseAsync);
        await GrpcAssert.FieldErrorAsync("cursor", () => Tasks.ListTasksAsync(new ListTasksRequest { Cursor = "zzz" }).ResponseAsync);
        await GrpcAssert.FieldErrorAsync("wait", () => Tasks.RunAsync(new RunRequest { Job = job, WaitSeconds = 301 }).ResponseAsync);
        await GrpcAssert.FieldErrorAsync("stream", () => ReadLogAsync(new StreamLogRequest { Id = new string('0', 32), Stream = (LogStreamSelector)7 }));
    }

    [Fact]
    public async Task AFullQueue_IsResourceExhausted()
    {
        var job = Names.Unique("gfull");
        var jobs = new Jobs.JobsClient(_channel);
        await jobs.PutJobAsync(new PutJobRequest { Name = job, Spec = new JobSpec { Image = StevedoreServer.Image, Command = { "true" }, MaxQueued = 1 } });
        await jobs.PauseJobAsync(new JobRequest { Name = job });
        await Tasks.EnqueueAsync(new EnqueueRequest { Job = job, Task = new TaskInput() });
        await GrpcAssert.RefusedAsync(StatusCode.ResourceExhausted, () => Tasks.EnqueueAsync(new EnqueueRequest { Job = job, Task = new TaskInput() }).ResponseAsync);
    }

    [Fact]
    public async Task OversizedPayload_IsResourceExhausted()
    {
        var job = await JobAsync("gbig", "true");
        var input = new TaskInput { Payload = ByteString.CopyFrom(new byte[1024 * 1024 + 1]) };
        await GrpcAssert.RefusedAsync(StatusCode.ResourceExhausted, () => Tasks.EnqueueAsync(new EnqueueRequest { Job = job, Task = input }).ResponseAsync);
    }

    [Fact]
    public async Task BytesThatAreNotAMessage_AreInvalidArgument_NamingTheMessageType()
    {
        var bytes = Marshallers.Create<byte[]>(b => b, b => b);
        var enqueue = new Method<byte[], byte[]>(MethodType.Unary, "stevedore.v1.Tasks", "Enqueue", bytes, bytes);

        // A field tag whose varint never ends.
        var ex = await GrpcAssert.RefusedAsync(StatusCode.InvalidArgument,
            () => _channel.CreateCallInvoker().AsyncUnaryCall(enqueue, null, default, [0x0a, 0xff, 0xff, 0xff]).ResponseAsync);

        Assert.Contains("stevedore.v1.EnqueueRequest", ex.Status.Detail);
    }

    [Fact]
    public async Task ABatchOfManyBadTasks_IsRefusedWhole_ListingTheFirstHundredViolations()
    {
        var job = await JobAsync("gbad", "true");
        var request = new EnqueueBatchRequest { Job = job };
        request.Tasks.AddRange(Enumerable.Range(0, 1000).Select(_ => new TaskInput { IdempotencyKey = "" }));

        var ex = await GrpcAssert.RefusedAsync(StatusCode.InvalidArgument, () => Tasks.EnqueueBatchAsync(request).ResponseAsync);

        var violations = ex.GetRpcStatus()!.GetDetail<Google.Rpc.BadRequest>().FieldViolations;
        Assert.Equal(100, violations.Count);
        Assert.Equal("tasks[0].idempotencyKey", violations[0].Field);
        Assert.Contains("901 more", violations[^1].Description);
    }

    [Fact]
    public async Task ABatchLargerThanTheWebServersDefaultBodyLimit_IsAccepted()
    {
        var job = await JobAsync("glarge", "true");
        await new Jobs.JobsClient(_channel).PauseJobAsync(new JobRequest { Name = job });
        var request = new EnqueueBatchRequest { Job = job };
        var payload = ByteString.CopyFrom(new byte[1024 * 1024]);
        request.Tasks.AddRange(Enumerable.Range(0, 35).Select(_ => new TaskInput { Payload = payload }));

        var response = await Tasks.EnqueueBatchAsync(request);

        Assert.Equal(35, response.Ids.Count);
    }

    [Fact]
    public async Task UnknownThings_AreNotFound()
    {
        var unknown = new TaskRequest { Id = "0123456789abcdef0123456789abcdef" };
        await GrpcAssert.RefusedAsync(StatusCode.NotFound, () => Tasks.GetTaskAsync(unknown).ResponseAsync);
        await GrpcAssert.RefusedAsync(StatusCode.NotFound, () => Tasks.GetTaskAsync(new TaskRequest { Id = "not-an-id" }).ResponseAsync);
        await GrpcAssert.RefusedAsync(StatusCode.NotFound, () => Tasks.CancelTaskAsync(unknown).ResponseAsync);
        await GrpcAssert.RefusedAsync(StatusCode.NotFound, () => Tasks.RetryTaskAsync(unknown).ResponseAsync);
        await GrpcAssert.RefusedAsync(StatusCode.NotFound, () => Tasks.GetResultAsync(unknown).ResponseAsync);
        await GrpcAssert.RefusedAsync(StatusCode.NotFound, () => ReadLogAsync(new StreamLogRequest { Id = unknown.Id }));
        await GrpcAssert.RefusedAsync(StatusCode.NotFound, () => Tasks.WatchTask(unknown).ResponseStream.MoveNext());
        await GrpcAssert.RefusedAsync(StatusCode.NotFound, () => Tasks.EnqueueAsync(new EnqueueRequest { Job = Names.Unique("nojob") }).ResponseAsync);
        await GrpcAssert.RefusedAsync(StatusCode.NotFound, () => Tasks.RunAsync(new RunRequest { Job = Names.Unique("nojob") }).ResponseAsync);
    }

    [Fact]
    public async Task StreamLog_Follow_DeliversLinesWhileTheTaskRuns_AndEndsWithIt()
    {
        // The first line arrives while the task still runs (3 s before its end): it came live, not at the end.
        var job = await JobAsync("gfollow", "sh", "-c", "echo first; sleep 3; echo second");
        var id = (await Tasks.EnqueueAsync(new EnqueueRequest { Job = job })).Task.Id;
        using var call = Tasks.StreamLog(new StreamLogRequest { Id = id, Follow = true });
        var text = new StringBuilder();
        while (!text.ToString().Contains("first", StringComparison.Ordinal))
        {
            Assert.True(await call.ResponseStream.MoveNext(), "the log ended before its first line");
            text.Append(call.ResponseStream.Current.Data.ToStringUtf8());
        }

        var running = await Tasks.GetTaskAsync(new TaskRequest { Id = id });
        Assert.Equal(TaskState.Running, running.Status);
        while (await call.ResponseStream.MoveNext())
        {
            text.Append(call.ResponseStream.Current.Data.ToStringUtf8());
        }

        Assert.Equal("first\nsecond\n", text.ToString());
        Assert.Equal(TaskState.Succeeded, (await Tasks.GetTaskAsync(new TaskRequest { Id = id })).Status);
    }

    [Fact]
    public async Task WatchTask_StreamsEachStatusChange_UntilTheTaskEnds()
    {
        var job = await JobAsync("gwatch", "sh", "-c", "sleep 1; exit 4");
        var id = (await Tasks.EnqueueAsync(new EnqueueRequest { Job = job })).Task.Id;
        using var call = Tasks.WatchTask(new TaskRequest { Id = id });
        var seen = new List<TaskState>();
        while (await call.ResponseStream.MoveNext())
        {
            seen.Add(call.ResponseStream.Current.Status);
        }

        Assert.Equal(TaskState.Failed, seen[^1]);
        Assert.Contains(TaskState.Running, seen);
        Assert.Equal(seen.Distinct().Count(), seen.Count);
        Assert.Equal(4, (await Tasks.GetTaskAsync(new TaskRequest { Id = id })).ExitCode);
    }

    [Fact]
    public async Task Cancel_AQueuedTask_EndsItsWatch()
    {
        var job = await JobAsync("gcancel", "true");
        await new Jobs.JobsClient(_channel).PauseJobAsync(new JobRequest { Name = job });
        var id = (await Tasks.EnqueueAsync(new EnqueueRequest { Job = job })).Task.Id;
        using var call = Tasks.WatchTask(new TaskRequest { Id = id });
        Assert.True(await call.ResponseStream.MoveNext());
        Assert.Equal(TaskState.Queued, call.ResponseStream.Current.Status);
        Assert.Equal(TaskState.Cancelled, (await Tasks.CancelTaskAsync(new TaskRequest { Id = id })).Status);
        Assert.True(await call.ResponseStream.MoveNext());
        Assert.Equal(TaskState.Cancelled, call.ResponseStream.Current.Status);
        Assert.False(await call.ResponseStream.MoveNext());
    }

    private async Task<string> ReadLogAsync(StreamLogRequest request)
    {
        using var call = Tasks.StreamLog(request);
        var text = new StringBuilder();
        while (await call.ResponseStream.MoveNext())
        {
            text.Append(call.ResponseStream.Current.Data.ToStringUtf8());
        }

        return text.ToString();
    }
}

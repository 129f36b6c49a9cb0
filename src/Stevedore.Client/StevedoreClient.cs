using System.Runtime.CompilerServices;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Stevedore.Api.V1;

namespace Stevedore.Client;

/// <summary>
/// Stevedore over gRPC (<c>stevedore.v1</c>): jobs, tasks, their logs and results; schedules, webhooks and events.
/// Thread-safe; make one per server and keep it (or register it with
/// <see cref="StevedoreClientServiceCollectionExtensions.AddStevedoreClient"/>).
/// Refusals are thrown as <see cref="StevedoreException"/> subclasses.
/// </summary>
public sealed partial class StevedoreClient : IDisposable
{
    private readonly GrpcChannel? _ownedChannel;
    private readonly Jobs.JobsClient _jobs;
    private readonly Tasks.TasksClient _tasks;

    /// <summary>A client with its own channel to <see cref="StevedoreClientOptions.Address"/>.</summary>
    public StevedoreClient(StevedoreClientOptions options)
        : this(CreateChannel(options), options.Token) => _ownedChannel = (GrpcChannel)Invoker;

    /// <summary>A client on a channel (or call invoker) the caller owns.</summary>
    public StevedoreClient(ChannelBase channel, string? token = null)
        : this(channel.CreateCallInvoker(), token, channel)
    {
    }

    private StevedoreClient(CallInvoker invoker, string? token, object owner)
    {
        Invoker = owner;
        var calls = token is null
            ? invoker
            : invoker.Intercept(metadata =>
            {
                metadata.Add("authorization", "Bearer " + token);
                return metadata;
            });
        _jobs = new Jobs.JobsClient(calls);
        _tasks = new Tasks.TasksClient(calls);
        _schedules = new Schedules.SchedulesClient(calls);
        _webhooks = new Webhooks.WebhooksClient(calls);
        _events = new Events.EventsClient(calls);
    }

    private object Invoker { get; }

    /// <summary>Creates a job or updates it; the answer says which and carries the job with its new version.</summary>
    public Task<PutJobResponse> PutJobAsync(string name, JobSpec spec, CancellationToken cancellationToken = default) =>
        CallAsync(() => _jobs.PutJobAsync(new PutJobRequest { Name = name, Spec = spec }, cancellationToken: cancellationToken));

    /// <summary>The job; <see cref="StevedoreNotFoundException"/> when there is none of that name.</summary>
    public Task<Job> GetJobAsync(string name, CancellationToken cancellationToken = default) =>
        CallAsync(() => _jobs.GetJobAsync(new JobRequest { Name = name }, cancellationToken: cancellationToken));

    /// <summary>Every job.</summary>
    public async Task<IReadOnlyList<Job>> ListJobsAsync(CancellationToken cancellationToken = default) =>
        (await CallAsync(() => _jobs.ListJobsAsync(new ListJobsRequest(), cancellationToken: cancellationToken))).Items;

    /// <summary>Deletes the job; its tasks stay readable.</summary>
    public Task DeleteJobAsync(string name, CancellationToken cancellationToken = default) =>
        CallAsync(() => _jobs.DeleteJobAsync(new JobRequest { Name = name }, cancellationToken: cancellationToken));

    /// <summary>Pauses the job: its tasks queue but none starts until it is resumed.</summary>
    public Task<Job> PauseJobAsync(string name, CancellationToken cancellationToken = default) =>
        CallAsync(() => _jobs.PauseJobAsync(new JobRequest { Name = name }, cancellationToken: cancellationToken));

    /// <summary>Resumes a paused job.</summary>
    public Task<Job> ResumeJobAsync(string name, CancellationToken cancellationToken = default) =>
        CallAsync(() => _jobs.ResumeJobAsync(new JobRequest { Name = name }, cancellationToken: cancellationToken));

    /// <summary>The job's task counts per status, running now and queued now.</summary>
    public Task<JobStats> GetJobStatsAsync(string name, CancellationToken cancellationToken = default) =>
        CallAsync(() => _jobs.GetJobStatsAsync(new JobRequest { Name = name }, cancellationToken: cancellationToken));

    /// <summary>Queues a task of the job and answers it at once (status queued, or the existing task for a known idempotency key).</summary>
    public async Task<TaskInfo> QueueAsync(string job, TaskInput? task = null, CancellationToken cancellationToken = default) =>
        (await CallAsync(() => _tasks.EnqueueAsync(new EnqueueRequest { Job = job, Task = task ?? new TaskInput() }, cancellationToken: cancellationToken))).Task;

    /// <summary>Queues up to 1000 tasks of one job, all or none; answers their ids in order.</summary>
    public async Task<IReadOnlyList<string>> QueueBatchAsync(string job, IEnumerable<TaskInput> tasks, CancellationToken cancellationToken = default)
    {
        var request = new EnqueueBatchRequest { Job = job };
        request.Tasks.AddRange(tasks);
        return (await CallAsync(() => _tasks.EnqueueBatchAsync(request, cancellationToken: cancellationToken))).Ids;
    }

    /// <summary>
    /// Queues a task and waits until it has finished (at most <paramref name="wait"/>, up to 5 minutes, the default):
    /// the task with its result. <see cref="RunResponse.Finished"/> is false when the wait ran out first.
    /// </summary>
    public Task<RunResponse> RunAsync(string job, TaskInput? task = null, TimeSpan? wait = null, CancellationToken cancellationToken = default)
    {
        var request = new RunRequest { Job = job, Task = task ?? new TaskInput() };
        if (wait is { } w)
        {
            request.WaitSeconds = (int)Math.Ceiling(Math.Clamp(w.TotalSeconds, 1, int.MaxValue));
        }

        return CallAsync(() => _tasks.RunAsync(request, cancellationToken: cancellationToken));
    }

    /// <summary>Queues a task with this payload (UTF-8 text) and waits for it; see <see cref="RunAsync(string, TaskInput?, TimeSpan?, CancellationToken)"/>.</summary>
    public Task<RunResponse> RunAsync(string job, string payload, TimeSpan? wait = null, CancellationToken cancellationToken = default) =>
        RunAsync(job, new TaskInput { Payload = ByteString.CopyFromUtf8(payload) }, wait, cancellationToken);

    /// <summary>The task.</summary>
    public Task<TaskInfo> GetTaskAsync(string id, CancellationToken cancellationToken = default) =>
        CallAsync(() => _tasks.GetTaskAsync(new TaskRequest { Id = id }, cancellationToken: cancellationToken));

    /// <summary>One page of tasks, newest first; pass <see cref="ListTasksResponse.NextCursor"/> as the next request's cursor.</summary>
    public Task<ListTasksResponse> ListTasksAsync(ListTasksRequest? request = null, CancellationToken cancellationToken = default) =>
        CallAsync(() => _tasks.ListTasksAsync(request ?? new ListTasksRequest(), cancellationToken: cancellationToken));

    /// <summary>Cancels a queued or running task; <see cref="StevedoreConflictException"/> when it has finished.</summary>
    public Task<TaskInfo> CancelAsync(string id, CancellationToken cancellationToken = default) =>
        CallAsync(() => _tasks.CancelTaskAsync(new TaskRequest { Id = id }, cancellationToken: cancellationToken));

    /// <summary>Queues a new task with the finished task's job and payload; answers the new task.</summary>
    public Task<TaskInfo> RetryAsync(string id, CancellationToken cancellationToken = default) =>
        CallAsync(() => _tasks.RetryTaskAsync(new TaskRequest { Id = id }, cancellationToken: cancellationToken));

    /// <summary>What the task wrote to its result file; <see cref="StevedoreNotFoundException"/> when it wrote none (yet).</summary>
    public async Task<ReadOnlyMemory<byte>> GetResultAsync(string id, CancellationToken cancellationToken = default) =>
        (await CallAsync(() => _tasks.GetResultAsync(new TaskRequest { Id = id }, cancellationToken: cancellationToken))).Result.Memory;

    /// <summary>Waits until the task has finished and answers it; the token bounds the wait.</summary>
    public async Task<TaskInfo> WaitAsync(string id, CancellationToken cancellationToken = default)
    {
        TaskInfo? last = null;
        await foreach (var task in WatchAsync(id, cancellationToken))
        {
            last = task;
        }

        // The stream ends when the task has finished, or was removed.
        return last is { } t && IsFinished(t.Status) ? t : await GetTaskAsync(id, cancellationToken);
    }

    /// <summary>The task now and after each change of its state, ending when it has finished.</summary>
    public IAsyncEnumerable<TaskInfo> WatchAsync(string id, CancellationToken cancellationToken = default) =>
        StreamAsync(() => _tasks.WatchTask(new TaskRequest { Id = id }, cancellationToken: cancellationToken), cancellationToken);

    /// <summary>
    /// The task's log as written (stdout and stderr in order, or one of them); with <paramref name="follow"/>, live until
    /// the task has ended.
    /// </summary>
    public async IAsyncEnumerable<ReadOnlyMemory<byte>> StreamLogAsync(
        string id, bool follow = true, LogStreamSelector stream = LogStreamSelector.All, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var request = new StreamLogRequest { Id = id, Follow = follow, Stream = stream };
        await foreach (var chunk in StreamAsync(() => _tasks.StreamLog(request, cancellationToken: cancellationToken), cancellationToken))
        {
            yield return chunk.Data.Memory;
        }
    }

    /// <summary>True for succeeded, failed, timed out and cancelled.</summary>
    public static bool IsFinished(TaskState status) => status >= TaskState.Succeeded;

    /// <inheritdoc/>
    public void Dispose() => _ownedChannel?.Dispose();

    private static GrpcChannel CreateChannel(StevedoreClientOptions options) =>
        GrpcChannel.ForAddress(options.Address, new GrpcChannelOptions
        {
            ThrowOperationCanceledOnCancellation = true,
            MaxReceiveMessageSize = 64 * 1024 * 1024,
            MaxSendMessageSize = 64 * 1024 * 1024,
        });

    private static async Task<T> CallAsync<T>(Func<AsyncUnaryCall<T>> call)
    {
        try
        {
            return await call();
        }
        catch (RpcException ex)
        {
            throw StevedoreException.From(ex);
        }
    }

    private static async IAsyncEnumerable<T> StreamAsync<T>(Func<AsyncServerStreamingCall<T>> start, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var call = start();
        while (true)
        {
            T item;
            try
            {
                if (!await call.ResponseStream.MoveNext(cancellationToken))
                {
                    yield break;
                }

                item = call.ResponseStream.Current;
            }
            catch (RpcException ex)
            {
                throw StevedoreException.From(ex);
            }

            yield return item;
        }
    }
}

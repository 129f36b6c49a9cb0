using Grpc.Core;
using Grpc.Net.Client;

namespace Stevedore.IntegrationTests.Grpc;

// Inside the namespace: the API's messages win over the host's types of the same name (JobSpec, TaskRequest).
using Stevedore.Api.V1;

/// <summary><c>stevedore.v1.Jobs</c> over a real gRPC channel to a real host.</summary>
[Collection(ServerCollection.Name)]
public sealed class GrpcJobsTests(StevedoreServer server) : IDisposable
{
    private readonly GrpcChannel _channel = server.NewChannel();

    private Jobs.JobsClient Jobs => new(_channel);

    public void Dispose() => _channel.Dispose();

    [Fact]
    public async Task PutGetListPauseResumeStatsDelete()
    {
        var name = Names.Unique("gjob");
        var spec = new JobSpec { Image = StevedoreServer.Image, Env = { ["A"] = "1" }, Command = { "true" } };
        var created = await Jobs.PutJobAsync(new PutJobRequest { Name = name, Spec = spec });
        Assert.True(created.Created);
        Assert.Equal(1, created.Job.Version);
        Assert.Equal(256, created.Job.Spec.MemoryMb);
        Assert.Equal(3600, created.Job.Spec.TimeoutSeconds);
        Assert.Equal("1", created.Job.Spec.Env["A"]);

        spec.Retries = 2;
        var updated = await Jobs.PutJobAsync(new PutJobRequest { Name = name, Spec = spec });
        Assert.False(updated.Created);
        Assert.Equal(2, updated.Job.Version);
        Assert.Equal(2, updated.Job.Spec.Retries);
        Assert.Equal(created.Job.CreatedAt, updated.Job.CreatedAt);

        Assert.Equal(2, (await Jobs.GetJobAsync(new JobRequest { Name = name })).Version);
        Assert.Contains((await Jobs.ListJobsAsync(new ListJobsRequest())).Items, j => j.Name == name);

        Assert.True((await Jobs.PauseJobAsync(new JobRequest { Name = name })).Paused);
        var task = await new Tasks.TasksClient(_channel).EnqueueAsync(new EnqueueRequest { Job = name });
        var stats = await Jobs.GetJobStatsAsync(new JobRequest { Name = name });
        Assert.Equal(1, stats.QueuedNow);
        Assert.Equal(1, stats.Counts["queued"]);
        Assert.False((await Jobs.ResumeJobAsync(new JobRequest { Name = name })).Paused);
        await server.WaitForEndAsync(task.Task.Id);
        Assert.Equal(1, (await Jobs.GetJobStatsAsync(new JobRequest { Name = name })).Counts["succeeded"]);

        await Jobs.DeleteJobAsync(new JobRequest { Name = name });
        await GrpcAssert.RefusedAsync(StatusCode.NotFound, () => Jobs.GetJobAsync(new JobRequest { Name = name }).ResponseAsync);
        await GrpcAssert.RefusedAsync(StatusCode.NotFound, () => Jobs.DeleteJobAsync(new JobRequest { Name = name }).ResponseAsync);
    }

    public static TheoryData<string, JobSpec, string> BadJobs => new()
    {
        { "Bad_Name", new JobSpec { Image = "busybox" }, "name" },
        { "ok-name", new JobSpec(), "image" },
        { "ok-name", new JobSpec { Image = "Not An Image" }, "image" },
        { "ok-name", new JobSpec { Image = "busybox", MemoryMb = 1 }, "memoryMb" },
        { "ok-name", new JobSpec { Image = "busybox", TimeoutSeconds = 0 }, "timeoutSeconds" },
        { "ok-name", new JobSpec { Image = "busybox", Cpus = 65 }, "cpus" },
        { "ok-name", new JobSpec { Image = "busybox", Retries = 21 }, "retries" },
        { "ok-name", new JobSpec { Image = "busybox", Network = "host" }, "network" },
        { "ok-name", new JobSpec { Image = "busybox", Priority = 3 }, "priority" },
        { "ok-name", new JobSpec { Image = "busybox", Env = { ["STEVEDORE_X"] = "1" } }, "env.STEVEDORE_X" },
        { "ok-name", new JobSpec { Image = "busybox", Command = { "a\0b" } }, "command[0]" },
    };

    [Theory]
    [MemberData(nameof(BadJobs))]
    public async Task PutJob_InvalidInput_IsInvalidArgument_NamingTheField(string name, JobSpec spec, string field)
    {
        var unique = name == "ok-name" ? Names.Unique("gbad") : name;
        await GrpcAssert.FieldErrorAsync(field, () => Jobs.PutJobAsync(new PutJobRequest { Name = unique, Spec = spec }).ResponseAsync);
        if (name == "ok-name")
        {
            await GrpcAssert.RefusedAsync(StatusCode.NotFound, () => Jobs.GetJobAsync(new JobRequest { Name = unique }).ResponseAsync);
        }
    }

    [Fact]
    public async Task UnknownJobs_AreNotFound_ForEveryCall()
    {
        var request = new JobRequest { Name = Names.Unique("nojob") };
        await GrpcAssert.RefusedAsync(StatusCode.NotFound, () => Jobs.GetJobAsync(request).ResponseAsync);
        await GrpcAssert.RefusedAsync(StatusCode.NotFound, () => Jobs.PauseJobAsync(request).ResponseAsync);
        await GrpcAssert.RefusedAsync(StatusCode.NotFound, () => Jobs.ResumeJobAsync(request).ResponseAsync);
        await GrpcAssert.RefusedAsync(StatusCode.NotFound, () => Jobs.GetJobStatsAsync(request).ResponseAsync);
        await GrpcAssert.RefusedAsync(StatusCode.NotFound, () => Jobs.GetJobAsync(new JobRequest { Name = "../../etc" }).ResponseAsync);
    }
}

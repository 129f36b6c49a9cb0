using System.Net.Http.Json;
using System.Text.Json;
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

    [Fact]
    public async Task HardeningAndQueueFields_PutOverGrpc_ReadBackOverHttpAndGrpc()
    {
        var name = Names.Unique("ghard");
        var spec = new JobSpec
        {
            Image = StevedoreServer.Image, MaxQueued = 5, Capabilities = { "kill", "CAP_CHOWN" }, User = "1000:1000", ReadOnlyRootFilesystem = true,
            RetentionDays = 9,
        };
        var put = await Jobs.PutJobAsync(new PutJobRequest { Name = name, Spec = spec });
        // Stored as the application layer keeps them: upper case, no CAP_ prefix, sorted.
        Assert.Equal((5L, "CHOWN KILL", "1000:1000", true),
            (put.Job.Spec.MaxQueued, string.Join(' ', put.Job.Spec.Capabilities), put.Job.Spec.User, put.Job.Spec.ReadOnlyRootFilesystem));

        var overHttp = await server.Http.GetFromJsonAsync<JsonElement>($"/v1/jobs/{name}");
        Assert.Equal(5, overHttp.GetProperty("maxQueued").GetInt32());
        Assert.Equal(["CHOWN", "KILL"], overHttp.GetProperty("capabilities").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal("1000:1000", overHttp.GetProperty("user").GetString());
        Assert.True(overHttp.GetProperty("readOnlyRootFilesystem").GetBoolean());
        Assert.Equal((9, 9L), (overHttp.GetProperty("retentionDays").GetInt32(), put.Job.Spec.RetentionDays));

        // A put without them takes the defaults again (a put replaces the definition), over both APIs.
        var plain = await Jobs.PutJobAsync(new PutJobRequest { Name = name, Spec = new JobSpec { Image = StevedoreServer.Image } });
        Assert.Equal((0L, 0, false, false), (plain.Job.Spec.MaxQueued, plain.Job.Spec.Capabilities.Count, plain.Job.Spec.HasUser, plain.Job.Spec.ReadOnlyRootFilesystem));
        var again = await Jobs.GetJobAsync(new JobRequest { Name = name });
        Assert.False(again.Spec.HasUser);
        Assert.False(again.Spec.HasRetentionDays);
        Assert.Equal(JsonValueKind.Null, (await server.Http.GetFromJsonAsync<JsonElement>($"/v1/jobs/{name}")).GetProperty("retentionDays").ValueKind);
        overHttp = await server.Http.GetFromJsonAsync<JsonElement>($"/v1/jobs/{name}");
        Assert.Equal((0, 0, JsonValueKind.Null, false), (overHttp.GetProperty("maxQueued").GetInt32(), overHttp.GetProperty("capabilities").GetArrayLength(),
            overHttp.GetProperty("user").ValueKind, overHttp.GetProperty("readOnlyRootFilesystem").GetBoolean()));
    }

    [Fact]
    public async Task HotSettings_PutOverGrpc_ReadBackOverHttpAndGrpc_AndAPutWithoutThemMakesTheJobCold()
    {
        var name = Names.Unique("ghot");
        var put = await Jobs.PutJobAsync(new PutJobRequest { Name = name, Spec = new JobSpec { Image = StevedoreServer.Image, Hot = new HotSpec { MaxPerNode = 2 } } });
        Assert.Equal((2L, 60L), (put.Job.Spec.Hot.MaxPerNode, put.Job.Spec.Hot.IdleSeconds));
        var overHttp = await server.Http.GetFromJsonAsync<JsonElement>($"/v1/jobs/{name}");
        Assert.Equal((2, 60), (overHttp.GetProperty("hot").GetProperty("maxPerNode").GetInt32(), overHttp.GetProperty("hot").GetProperty("idleSeconds").GetInt32()));

        await Jobs.PutJobAsync(new PutJobRequest { Name = name, Spec = new JobSpec { Image = StevedoreServer.Image } });
        Assert.Null((await Jobs.GetJobAsync(new JobRequest { Name = name })).Spec.Hot);
        Assert.Equal(JsonValueKind.Null, (await server.Http.GetFromJsonAsync<JsonElement>($"/v1/jobs/{name}")).GetProperty("hot").ValueKind);
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
        { "ok-name", new JobSpec { Image = "busybox", MaxQueued = -1 }, "maxQueued" },
        { "ok-name", new JobSpec { Image = "busybox", Capabilities = { "CHOWN", "SYS_ADMIN" } }, "capabilities[1]" },
        { "ok-name", new JobSpec { Image = "busybox", Capabilities = { "NOT_A_CAP" } }, "capabilities[0]" },
        { "ok-name", new JobSpec { Image = "busybox", User = "1000\n" }, "user" },
        { "ok-name", new JobSpec { Image = "busybox", User = "" }, "user" },
        { "ok-name", new JobSpec { Image = "busybox", RetentionDays = 0 }, "retentionDays" },
        { "ok-name", new JobSpec { Image = "busybox", Hot = new HotSpec { MaxPerNode = 0 } }, "hot.maxPerNode" },
        { "ok-name", new JobSpec { Image = "busybox", Hot = new HotSpec { IdleSeconds = 86_401 } }, "hot.idleSeconds" },
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

using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Grpc.Reflection.V1Alpha;

namespace Stevedore.IntegrationTests.Grpc;

// Inside the namespace: the API's messages win over the host's types of the same name (JobSpec, TaskRequest).
using Stevedore.Api.V1;

/// <summary>The admin token on gRPC: metadata <c>authorization: Bearer …</c>; health and reflection need none.</summary>
public sealed class GrpcAuthTests(TokenServer server) : IClassFixture<TokenServer>, IDisposable
{
    private readonly GrpcChannel _channel = server.NewChannel();

    public void Dispose() => _channel.Dispose();

    [Fact]
    public async Task MissingToken_IsUnauthenticated_ForCallsAndStreams()
    {
        var jobs = new Jobs.JobsClient(_channel);
        var tasks = new Tasks.TasksClient(_channel);
        var ex = await GrpcAssert.RefusedAsync(StatusCode.Unauthenticated, () => jobs.ListJobsAsync(new ListJobsRequest()).ResponseAsync);
        Assert.Contains("authorization: Bearer", ex.Status.Detail);
        await GrpcAssert.RefusedAsync(StatusCode.Unauthenticated, () => tasks.WatchTask(new TaskRequest { Id = new string('0', 32) }).ResponseStream.MoveNext());
        await GrpcAssert.RefusedAsync(StatusCode.Unauthenticated, () => tasks.StreamLog(new StreamLogRequest { Id = new string('0', 32) }).ResponseStream.MoveNext());
    }

    [Theory]
    [InlineData("Bearer wrong-token-0123456789")]
    [InlineData("Basic " + TokenServer.Token)]
    [InlineData("Bearer " + TokenServer.Token + "x")]
    public async Task WrongToken_IsUnauthenticated(string header)
    {
        var jobs = new Jobs.JobsClient(_channel);
        await GrpcAssert.RefusedAsync(StatusCode.Unauthenticated,
            () => jobs.ListJobsAsync(new ListJobsRequest(), new Metadata { { "authorization", header } }).ResponseAsync);
    }

    [Fact]
    public async Task RightToken_IsLetThrough()
    {
        var jobs = new Jobs.JobsClient(_channel);
        var response = await jobs.ListJobsAsync(new ListJobsRequest(), new Metadata { { "authorization", "Bearer " + TokenServer.Token } });
        Assert.NotNull(response);
    }

    [Fact]
    public async Task Health_NeedsNoToken()
    {
        var health = new Health.HealthClient(_channel);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, (await health.CheckAsync(new HealthCheckRequest())).Status);
    }
}

/// <summary>gRPC health and reflection on the shared host.</summary>
[Collection(ServerCollection.Name)]
public sealed class GrpcOpsTests(StevedoreServer server) : IDisposable
{
    private readonly GrpcChannel _channel = server.NewChannel();

    public void Dispose() => _channel.Dispose();

    [Fact]
    public async Task Health_IsServing_WhenSiloAndDockerAnswer()
    {
        var health = new Health.HealthClient(_channel);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, (await health.CheckAsync(new HealthCheckRequest())).Status);
    }

    [Fact]
    public async Task Reflection_ListsTheStevedoreServices()
    {
        using var call = new ServerReflection.ServerReflectionClient(_channel).ServerReflectionInfo();
        await call.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = "" });
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext());
        var services = call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name).ToList();
        Assert.Contains("stevedore.v1.Jobs", services);
        Assert.Contains("stevedore.v1.Tasks", services);
    }

    [Fact]
    public async Task TheRestEndpoint_DoesNotServeGrpc()
    {
        // The REST endpoint is HTTP/1.1 only: a gRPC client pointed at it fails instead of half working.
        using var channel = GrpcChannel.ForAddress(server.Http.BaseAddress!);
        var ex = await Assert.ThrowsAsync<RpcException>(() => new Jobs.JobsClient(channel).ListJobsAsync(new ListJobsRequest()).ResponseAsync);
        Assert.NotEqual(StatusCode.OK, ex.StatusCode);
    }
}

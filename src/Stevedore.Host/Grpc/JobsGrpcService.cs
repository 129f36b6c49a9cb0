using Grpc.Core;
using Stevedore.Application;
using V1 = Stevedore.Api.V1;

namespace Stevedore.Host.Grpc;

/// <summary><c>stevedore.v1.Jobs</c>: a thin adapter over <see cref="JobService"/>.</summary>
public sealed class JobsGrpcService(JobService jobs) : V1.Jobs.JobsBase
{
    public override async Task<V1.PutJobResponse> PutJob(V1.PutJobRequest request, ServerCallContext context)
    {
        var put = (await jobs.PutAsync(request.Name, GrpcMapping.ToDraft(request.Spec))).Unwrap();
        return new V1.PutJobResponse { Job = GrpcMapping.ToMessage(put.Job), Created = put.Created };
    }

    public override async Task<V1.Job> GetJob(V1.JobRequest request, ServerCallContext context) =>
        GrpcMapping.ToMessage((await jobs.GetAsync(request.Name)).Unwrap());

    public override async Task<V1.ListJobsResponse> ListJobs(V1.ListJobsRequest request, ServerCallContext context)
    {
        var response = new V1.ListJobsResponse();
        response.Items.AddRange((await jobs.ListAsync(context.CancellationToken)).Select(GrpcMapping.ToMessage));
        return response;
    }

    public override async Task<V1.DeleteJobResponse> DeleteJob(V1.JobRequest request, ServerCallContext context)
    {
        (await jobs.DeleteAsync(request.Name)).Unwrap();
        return new V1.DeleteJobResponse();
    }

    public override async Task<V1.Job> PauseJob(V1.JobRequest request, ServerCallContext context) =>
        GrpcMapping.ToMessage((await jobs.SetPausedAsync(request.Name, paused: true)).Unwrap());

    public override async Task<V1.Job> ResumeJob(V1.JobRequest request, ServerCallContext context) =>
        GrpcMapping.ToMessage((await jobs.SetPausedAsync(request.Name, paused: false)).Unwrap());

    public override async Task<V1.JobStats> GetJobStats(V1.JobRequest request, ServerCallContext context) =>
        GrpcMapping.ToMessage((await jobs.StatsAsync(request.Name, context.CancellationToken)).Unwrap());
}

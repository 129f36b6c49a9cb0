using Grpc.Core;
using Stevedore.Application;
using Stevedore.Application.Triggers;
using V1 = Stevedore.Api.V1;

namespace Stevedore.Host.Grpc;

/// <summary><c>stevedore.v1.Schedules</c>: a thin adapter over <see cref="ScheduleService"/>.</summary>
public sealed class SchedulesGrpcService(ScheduleService schedules) : V1.Schedules.SchedulesBase
{
    public override async Task<V1.Schedule> CreateSchedule(V1.CreateScheduleRequest request, ServerCallContext context)
    {
        var errors = new FieldErrors();
        var draft = GrpcTriggerMapping.ToDraft(request.Schedule, errors);
        if (errors.Any)
        {
            throw GrpcErrors.Invalid(errors);
        }

        return GrpcTriggerMapping.ToMessage((await schedules.CreateAsync(request.Job, draft)).Unwrap());
    }

    public override async Task<V1.Schedule> GetSchedule(V1.ScheduleRequest request, ServerCallContext context) =>
        GrpcTriggerMapping.ToMessage((await schedules.GetAsync(request.Id)).Unwrap());

    public override async Task<V1.ListSchedulesResponse> ListSchedules(V1.ListSchedulesRequest request, ServerCallContext context)
    {
        // An empty job is "not given", refused by the one validation as for GET /v1/schedules without ?job=.
        var list = (await schedules.ListAsync(request.Job.Length == 0 ? null : request.Job, context.CancellationToken)).Unwrap();
        var response = new V1.ListSchedulesResponse();
        response.Items.AddRange(list.Select(GrpcTriggerMapping.ToMessage));
        return response;
    }

    public override async Task<V1.DeleteScheduleResponse> DeleteSchedule(V1.ScheduleRequest request, ServerCallContext context)
    {
        (await schedules.DeleteAsync(request.Id)).Unwrap();
        return new V1.DeleteScheduleResponse();
    }

    public override async Task<V1.Schedule> PauseSchedule(V1.ScheduleRequest request, ServerCallContext context) =>
        GrpcTriggerMapping.ToMessage((await schedules.SetPausedAsync(request.Id, paused: true)).Unwrap());

    public override async Task<V1.Schedule> ResumeSchedule(V1.ScheduleRequest request, ServerCallContext context) =>
        GrpcTriggerMapping.ToMessage((await schedules.SetPausedAsync(request.Id, paused: false)).Unwrap());
}

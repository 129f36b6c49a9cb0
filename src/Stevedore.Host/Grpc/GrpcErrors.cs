using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using Stevedore.Application;

namespace Stevedore.Host.Grpc;

/// <summary>
/// Refusals of the application layer as gRPC statuses. Field errors travel as a <c>google.rpc.BadRequest</c> in the
/// rich status (trailer <c>grpc-status-details-bin</c>), one violation per message, fields named as in the HTTP API.
/// </summary>
public static class GrpcErrors
{
    public static RpcException From(AppError error)
    {
        var status = new Google.Rpc.Status { Code = (int)CodeOf(error.Kind), Message = error.Detail };
        if (error.Errors is { Count: > 0 } errors)
        {
            var badRequest = new BadRequest();
            foreach (var (field, messages) in errors)
            {
                foreach (var message in messages)
                {
                    badRequest.FieldViolations.Add(new BadRequest.Types.FieldViolation { Field = field, Description = message });
                }
            }

            status.Details.Add(Any.Pack(badRequest));
        }

        return status.ToRpcException();
    }

    public static RpcException Invalid(FieldErrors errors) => From(AppError.Invalid(errors));

    /// <summary>The value of a successful result, or the refusal thrown as the fitting status.</summary>
    public static T Unwrap<T>(this AppResult<T> result) => result.Ok ? result.Value! : throw From(result.Error!);

    private static Code CodeOf(AppErrorKind kind) => kind switch
    {
        AppErrorKind.Invalid => Code.InvalidArgument,
        AppErrorKind.NotFound => Code.NotFound,
        AppErrorKind.Conflict => Code.FailedPrecondition,
        AppErrorKind.TooLarge => Code.ResourceExhausted,
        AppErrorKind.Unauthorized => Code.Unauthenticated,
        // A full queue (maxQueued) or too many log followers: gRPC's word for "try again later".
        AppErrorKind.Busy => Code.ResourceExhausted,
        _ => Code.InvalidArgument,
    };
}

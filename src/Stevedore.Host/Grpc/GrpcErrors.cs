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
    /// <summary>
    /// Violations sent at most, each text cut to <see cref="MaxViolationText"/>: the details travel in a trailer, and a
    /// client refuses trailers past 64 KiB (.NET's default), so a batch of 1,000 bad tasks listed in full reached the
    /// client as a failed call, not as its refusal. The last violation then says how many were left out.
    /// </summary>
    public const int MaxViolations = 100;

    public const int MaxViolationText = 256;

    public static RpcException From(AppError error)
    {
        var status = new Google.Rpc.Status { Code = (int)CodeOf(error.Kind), Message = Cut(error.Detail, 1024) };
        if (error.Errors is { Count: > 0 } errors)
        {
            var badRequest = new BadRequest();
            var all = errors.SelectMany(e => e.Value.Select(message => (Field: e.Key, Message: message))).ToList();
            foreach (var (field, message) in all.Take(all.Count > MaxViolations ? MaxViolations - 1 : MaxViolations))
            {
                badRequest.FieldViolations.Add(new BadRequest.Types.FieldViolation { Field = Cut(field, MaxViolationText), Description = Cut(message, MaxViolationText) });
            }

            if (all.Count > MaxViolations)
            {
                badRequest.FieldViolations.Add(new BadRequest.Types.FieldViolation
                {
                    Field = "", Description = $"and {all.Count - (MaxViolations - 1)} more violations, left out (fix these and send again)",
                });
            }

            status.Details.Add(Any.Pack(badRequest));
        }

        return status.ToRpcException();
    }

    private static string Cut(string text, int max) => text.Length <= max ? text : text[..(max - 1)] + "…";

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

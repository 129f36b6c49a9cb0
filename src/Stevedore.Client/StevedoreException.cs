using Google.Rpc;
using Grpc.Core;

namespace Stevedore.Client;

/// <summary>A call Stevedore refused or could not answer. The subclasses say why; <see cref="Exception.Message"/> says what to do.</summary>
public class StevedoreException : Exception
{
    /// <summary>Creates the exception.</summary>
    public StevedoreException(string message, StatusCode status, Exception? inner = null)
        : base(message, inner) => Status = status;

    /// <summary>The gRPC status the server answered.</summary>
    public StatusCode Status { get; }

    /// <summary>The typed exception for a failed call.</summary>
    public static StevedoreException From(RpcException ex)
    {
        var detail = ex.Status.Detail is { Length: > 0 } d ? d : ex.StatusCode.ToString();
        return ex.StatusCode switch
        {
            StatusCode.InvalidArgument => new StevedoreValidationException(detail, FieldErrorsOf(ex), ex),
            StatusCode.NotFound => new StevedoreNotFoundException(detail, ex),
            StatusCode.FailedPrecondition or StatusCode.AlreadyExists => new StevedoreConflictException(detail, ex),
            StatusCode.ResourceExhausted => new StevedoreTooLargeException(detail, ex),
            StatusCode.Unauthenticated or StatusCode.PermissionDenied => new StevedoreUnauthorizedException(detail, ex),
            StatusCode.Unavailable or StatusCode.DeadlineExceeded => new StevedoreUnavailableException(detail, ex),
            _ => new StevedoreException(detail, ex.StatusCode, ex),
        };
    }

    private static IReadOnlyDictionary<string, string[]> FieldErrorsOf(RpcException ex)
    {
        var badRequest = ex.GetRpcStatus()?.GetDetail<BadRequest>();
        return badRequest is null
            ? new Dictionary<string, string[]>()
            : badRequest.FieldViolations.GroupBy(v => v.Field, StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => g.Select(v => v.Description).ToArray(), StringComparer.Ordinal);
    }
}

/// <summary>The request had invalid fields; <see cref="Errors"/> names each with what to send instead.</summary>
public sealed class StevedoreValidationException(string message, IReadOnlyDictionary<string, string[]> errors, Exception? inner = null)
    : StevedoreException(message, StatusCode.InvalidArgument, inner)
{
    /// <summary>Messages per field, fields named as in the HTTP API (camelCase, <c>tasks[3].priority</c> for items).</summary>
    public IReadOnlyDictionary<string, string[]> Errors { get; } = errors;
}

/// <summary>The job, task, schedule or webhook does not exist (or, for a result, the task wrote none).</summary>
public sealed class StevedoreNotFoundException(string message, Exception? inner = null)
    : StevedoreException(message, StatusCode.NotFound, inner);

/// <summary>The call conflicts with the current state, e.g. cancelling a finished task.</summary>
public sealed class StevedoreConflictException(string message, Exception? inner = null)
    : StevedoreException(message, StatusCode.FailedPrecondition, inner);

/// <summary>A payload or request was larger than the server accepts.</summary>
public sealed class StevedoreTooLargeException(string message, Exception? inner = null)
    : StevedoreException(message, StatusCode.ResourceExhausted, inner);

/// <summary>The server needs its admin token, or the token given is not it.</summary>
public sealed class StevedoreUnauthorizedException(string message, Exception? inner = null)
    : StevedoreException(message, StatusCode.Unauthenticated, inner);

/// <summary>The server, its storage or its cluster could not be reached; the call may be tried again.</summary>
public sealed class StevedoreUnavailableException(string message, Exception? inner = null)
    : StevedoreException(message, StatusCode.Unavailable, inner);

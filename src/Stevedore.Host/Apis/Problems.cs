using Microsoft.AspNetCore.Mvc;
using Stevedore.Application;

namespace Stevedore.Host.Apis;

/// <summary>RFC 9457 problem+json for every refusal.</summary>
public static class Problems
{
    /// <summary>Seconds a client should wait before trying a 503 again: a failover or a database restart takes a few.</summary>
    public const int RetryAfterSeconds = 2;

    public static IResult From(AppError error) => error.Kind switch
    {
        AppErrorKind.Invalid => TypedResults.ValidationProblem(
            error.Errors ?? new Dictionary<string, string[]>(), detail: error.Detail, title: "The request has invalid fields."),
        AppErrorKind.NotFound => Problem(StatusCodes.Status404NotFound, "Not found.", error.Detail),
        AppErrorKind.Conflict => Problem(StatusCodes.Status409Conflict, "Conflict with the current state.", error.Detail),
        AppErrorKind.TooLarge => Problem(StatusCodes.Status413PayloadTooLarge, "Payload too large.", error.Detail),
        AppErrorKind.Unauthorized => Problem(StatusCodes.Status401Unauthorized, "Unauthorized.", error.Detail),
        AppErrorKind.Busy => new RetryLater(Problem(StatusCodes.Status429TooManyRequests, "Too many requests.", error.Detail), error.RetryAfter ?? TimeSpan.FromSeconds(1)),
        _ => Problem(StatusCodes.Status400BadRequest, "Bad request.", error.Detail),
    };

    /// <summary>Status code for an exception that escaped an endpoint: never 500 for something the caller can fix or wait out.</summary>
    public static int StatusFor(Exception exception) => exception switch
    {
        BadHttpRequestException bad => bad.StatusCode,
        _ when IsUnavailable(exception) => StatusCodes.Status503ServiceUnavailable,
        _ => StatusCodes.Status500InternalServerError,
    };

    public static void DescribeException(ProblemDetailsContext context)
    {
        var exception = context.Exception;
        if (exception is null)
        {
            return;
        }

        if (exception is BadHttpRequestException bad)
        {
            context.ProblemDetails.Detail = bad.Message;
        }
        else if (IsUnavailable(exception))
        {
            context.ProblemDetails.Detail = "Stevedore's storage or cluster did not answer in time; nothing was changed by this call unless it says otherwise. Try again shortly.";
        }
    }

    /// <summary>
    /// Storage or cluster did not answer for the moment — a database restart, or the messages Orleans rejects while
    /// the cluster moves grains off a silo that died: the caller may try again (503, gRPC UNAVAILABLE).
    /// </summary>
    public static bool IsUnavailable(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is Npgsql.NpgsqlException
                or TimeoutException
                or System.Net.Sockets.SocketException
                or Orleans.Runtime.SiloUnavailableException
                or Orleans.Runtime.OrleansMessageRejectionException
                or Orleans.Runtime.Messaging.ConnectionFailedException
                or Orleans.Runtime.GatewayTooBusyException)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Middleware: every 503, whoever writes it, says when to try again.</summary>
    public static Task RetryAfterOn503(HttpContext context, RequestDelegate next)
    {
        context.Response.OnStarting(static state =>
        {
            var response = (HttpResponse)state;
            if (response.StatusCode == StatusCodes.Status503ServiceUnavailable && !response.Headers.ContainsKey("Retry-After"))
            {
                response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }

            return Task.CompletedTask;
        }, context.Response);
        return next(context);
    }

    public static IResult Invalid(FieldErrors errors) => From(AppError.Invalid(errors));

    public static IResult Problem(int status, string title, string detail) =>
        TypedResults.Problem(new ProblemDetails { Status = status, Title = title, Detail = detail });

    public static Task Write(HttpContext context, int status, string detail)
    {
        context.Response.StatusCode = status;
        return context.Response.WriteAsJsonAsync(
            new ProblemDetails { Status = status, Title = ReasonPhrase(status), Detail = detail },
            options: null,
            contentType: "application/problem+json");
    }

    /// <summary>A refusal that tells the caller when to try again (Retry-After, whole seconds).</summary>
    private sealed class RetryLater(IResult problem, TimeSpan after) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(after.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            return problem.ExecuteAsync(httpContext);
        }
    }

    private static string ReasonPhrase(int status) => Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status);
}

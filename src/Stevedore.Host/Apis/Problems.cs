using Microsoft.AspNetCore.Mvc;
using Stevedore.Application;

namespace Stevedore.Host.Apis;

/// <summary>RFC 9457 problem+json for every refusal.</summary>
public static class Problems
{
    public static IResult From(AppError error) => error.Kind switch
    {
        AppErrorKind.Invalid => TypedResults.ValidationProblem(
            error.Errors ?? new Dictionary<string, string[]>(), detail: error.Detail, title: "The request has invalid fields."),
        AppErrorKind.NotFound => Problem(StatusCodes.Status404NotFound, "Not found.", error.Detail),
        AppErrorKind.Conflict => Problem(StatusCodes.Status409Conflict, "Conflict with the current state.", error.Detail),
        AppErrorKind.TooLarge => Problem(StatusCodes.Status413PayloadTooLarge, "Payload too large.", error.Detail),
        _ => Problem(StatusCodes.Status400BadRequest, "Bad request.", error.Detail),
    };

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

    private static string ReasonPhrase(int status) => Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status);
}

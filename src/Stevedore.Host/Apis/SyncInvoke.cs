using System.Globalization;
using Microsoft.Extensions.Primitives;
using Stevedore.Application;

namespace Stevedore.Host.Apis;

/// <summary><c>POST /v1/jobs/{name}/tasks?wait=&lt;seconds&gt;</c>: enqueue and answer when the task has finished.</summary>
public static class SyncInvoke
{
    /// <summary>Reads <c>wait</c>, the one query parameter of an enqueue; anything else is a 400.</summary>
    public static (long? Wait, IResult? Problem) ReadWait(IQueryCollection query)
    {
        var errors = new FieldErrors();
        foreach (var key in query.Keys.Where(k => k != "wait"))
        {
            errors.Add(key, "is not a known query parameter; expected: wait (seconds to wait for the task to finish, at most 300)");
        }

        long? wait = null;
        if (query.TryGetValue("wait", out var text))
        {
            if (text.Count == 1 && long.TryParse(text[0], NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
            {
                wait = seconds;
                Validation.Wait(seconds, errors);
            }
            else
            {
                errors.Add("wait", $"must be a whole number of seconds from 0 to {Validation.MaxWaitSeconds}; got '{Shorten(text)}'");
            }
        }

        return errors.Any ? (null, Problems.Invalid(errors)) : (wait, null);
    }

    /// <summary>200 with the task and its inline result when it finished; 202 with the task as it is at the deadline.</summary>
    public static IResult Respond(AppResult<RunResult> result)
    {
        if (!result.Ok)
        {
            return Problems.From(result.Error!);
        }

        var run = result.Value!;
        var task = TaskResponse.From(run.Task) with { Result = run.InlineText };
        return run.Final
            ? TypedResults.Ok(task)
            : TypedResults.Accepted($"/v1/tasks/{task.Id}", task);
    }

    private static string Shorten(StringValues text)
    {
        var joined = text.ToString();
        return joined.Length <= 40 ? joined : joined[..37] + "...";
    }
}

namespace Stevedore.Cli;

/// <summary>
/// What <c>stevedore</c> exits with (also in <c>stevedore --help</c> and the README). <c>task queue --wait</c> and
/// <c>task wait</c> exit with the container's own exit code instead, like <c>docker run</c>.
/// </summary>
public static class ExitCodes
{
    public const int Ok = 0;
    /// <summary>Anything else that went wrong; a waited task that failed with an exit code above 255.</summary>
    public const int Failed = 1;
    /// <summary>The command line is wrong: unknown command or option, missing or malformed value.</summary>
    public const int Usage = 2;
    /// <summary>The job or task does not exist (or the task wrote no result).</summary>
    public const int NotFound = 3;
    /// <summary>The server refused the request: invalid field, conflict with the task's state, too large.</summary>
    public const int Refused = 4;
    /// <summary>The server needs a token (--token or STEVEDORE_TOKEN), or the one given is wrong.</summary>
    public const int Unauthorized = 5;
    /// <summary>The server, its storage or its cluster could not be reached.</summary>
    public const int Unavailable = 6;
    /// <summary>A waited task timed out.</summary>
    public const int TimedOut = 124;
    /// <summary>A waited task failed without an exit code (e.g. its image could not be pulled).</summary>
    public const int NoExitCode = 125;
    /// <summary>A waited task was cancelled, or the command was interrupted (Ctrl+C).</summary>
    public const int Cancelled = 130;

    public const string Help =
        "Exit codes: 0 ok, 1 other error, 2 bad command line, 3 not found, 4 refused by the server (invalid, conflict, too large), " +
        "5 token missing or wrong, 6 server unreachable or unavailable; `task queue --wait` and `task wait` exit with the " +
        "container's exit code, 124 timed out, 125 failed without an exit code, 130 cancelled.";
}

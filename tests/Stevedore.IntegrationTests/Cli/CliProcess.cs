using System.Diagnostics;

namespace Stevedore.IntegrationTests.Cli;

/// <summary>Runs the built <c>stevedore</c> command as a process, the way a person or a script does.</summary>
public static class CliProcess
{
    public sealed record Run(int ExitCode, string Stdout, string Stderr)
    {
        public override string ToString() => $"exit {ExitCode}\nstdout: {Stdout}\nstderr: {Stderr}";
    }

    /// <summary>The CLI built beside these tests, in the same configuration.</summary>
    public static string Dll { get; } = Locate();

    public static async Task<Run> RunWithInputAsync(StevedoreServer? server, string? stdin, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Dll);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment.Remove("STEVEDORE_TOKEN");
        start.Environment["STEVEDORE_SERVER"] = server?.GrpcAddress.ToString() ?? "http://127.0.0.1:1";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
        }

        process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"stevedore {string.Join(' ', args)} did not exit within 90 s");
        }

        return new Run(process.ExitCode, await stdout, await stderr);
    }

    public static Task<Run> RunAsync(StevedoreServer? server, params string[] args) => RunWithInputAsync(server, null, args);

    /// <summary>A success: exit code 0 (else the whole run is the message).</summary>
    public static Run Succeeded(Run run)
    {
        Assert.True(run.ExitCode == 0, run.ToString());
        return run;
    }

    /// <summary>A failure: the exit code, and exactly one readable line on stderr, mentioning <paramref name="mention"/>, without a stack trace.</summary>
    public static void FailedWith(int exitCode, Run run, string mention)
    {
        Assert.True(run.ExitCode == exitCode, run.ToString());
        var lines = run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, "expected one line on stderr: " + run);
        Assert.StartsWith("stevedore: ", lines[0]);
        Assert.Contains(mention, lines[0], StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("   at ", run.Stderr);
    }

    private static string Locate()
    {
        // tests/Stevedore.IntegrationTests/bin/<Configuration>/net10.0 → src/Stevedore.Cli/bin/<Configuration>/net10.0
        var here = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var framework = here.Name;
        var configuration = here.Parent!.Name;
        var dll = Path.Combine(Scripts.RepoRoot, "src", "Stevedore.Cli", "bin", configuration, framework, "stevedore.dll");
        return File.Exists(dll) ? dll : throw new FileNotFoundException($"the stevedore CLI is not built at {dll}");
    }
}

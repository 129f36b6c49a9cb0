using System.Diagnostics;
using Stevedore.Testing;

namespace Stevedore.Soak;

/// <summary>Runs the helpers of scripts/lib.sh (<c>pg_instance</c>, <c>docker_instance</c>) from the repository.</summary>
public static class Shell
{
    public static string RepoRoot { get; } = FindRoot();

    /// <summary>Runs <paramref name="command"/> after sourcing scripts/lib.sh; throws with its output when it fails.</summary>
    public static async Task RunAsync(string command, TimeSpan timeout)
    {
        var start = new ProcessStartInfo("bash", ["-c", $"source scripts/lib.sh && {command}"]) { WorkingDirectory = RepoRoot };
        var (exitCode, stdout, stderr) = await Processes.RunAsync(start, timeout);
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"`{command}` failed with {exitCode}: {stdout}{stderr}");
        }
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Grains.sln")))
            {
                return dir.FullName;
            }
        }

        return Directory.GetCurrentDirectory();
    }
}

using Microsoft.Extensions.Hosting;

namespace Stevedore.Testing;

/// <summary>What fixtures do on dispose: every step runs, pass or fail, and their failures are reported together.</summary>
public static class Cleanup
{
    /// <summary>Runs each step even when one before it failed; throws the failures together, naming <paramref name="what"/>.</summary>
    public static async Task AllAsync(string what, params Func<Task>[] steps)
    {
        var failures = new List<Exception>();
        foreach (var step in steps)
        {
            try
            {
                await step();
            }
            catch (Exception ex)
            {
                failures.Add(ex);
            }
        }

        if (failures.Count > 0)
        {
            throw new AggregateException($"Cleaning up {what} failed.", failures);
        }
    }

    /// <summary>Stops and disposes a host, also one whose start failed half way (nothing when it is null).</summary>
    public static async Task StopAsync(IHost? host)
    {
        if (host is null)
        {
            return;
        }

        try
        {
            await host.StopAsync();
        }
        finally
        {
            if (host is IAsyncDisposable asyncDisposable)
            {
                await asyncDisposable.DisposeAsync();
            }
            else
            {
                host.Dispose();
            }
        }
    }
}

namespace Stevedore.Host.Hosting;

/// <summary>
/// Without an admin token the API is open, so the host must only be reachable from this machine: once Kestrel has
/// bound, this checks the addresses it really listens on and stops the start when one is beyond loopback. (Until then
/// <see cref="LocalRequestsMiddleware"/> answers no one but this machine.)
/// </summary>
public sealed class LoopbackGuard(BoundAddresses bound) : IHostedLifecycleService
{
    public Task StartedAsync(CancellationToken cancellationToken)
    {
        if (bound.BeyondLoopback is { Count: > 0 } open)
        {
            throw new StartupException(
                $"Refusing to listen on {string.Join(", ", open)} without an admin token: set {StevedoreHost.AdminTokenKey} " +
                "(env Stevedore__Auth__AdminToken), or listen on 127.0.0.1 only (Kestrel:Endpoints:Http:Url, and no ASPNETCORE_URLS, " +
                "ASPNETCORE_HTTP_PORTS or --urls pointing elsewhere).");
        }

        return Task.CompletedTask;
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

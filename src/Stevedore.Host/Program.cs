using Stevedore.Host.Hosting;

try
{
    if (args.Length > 0 && args[0] == "migrate")
    {
        return await StevedoreHost.MigrateAsync(args[1..]);
    }

    if (args.Length > 0 && args[0] == "certs")
    {
        return Stevedore.Host.Cluster.CertsCommand.Run(args[1..], Console.Out);
    }

    await using var app = await StevedoreHost.BuildAsync(args);
    try
    {
        await app.StartAsync();
    }
    catch (StartupException)
    {
        // Refused after binding (e.g. listening beyond loopback without a token): close everything before saying why.
        using var stopping = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await app.StopAsync(stopping.Token);
        throw;
    }

    await app.WaitForShutdownAsync();
    return 0;
}
catch (StartupException ex)
{
    // A setting that cannot work: say which and how to fix it, without a stack trace, and do not come back up.
    Console.Error.WriteLine($"stevedore: {ex.Message}");
    return 2;
}

/// <summary>The entry point, visible to tests.</summary>
public partial class Program;

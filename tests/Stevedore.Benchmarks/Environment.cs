using System.Diagnostics;
using System.Net;
using Stevedore.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Npgsql;
using Stevedore.Host.Hosting;
using Stevedore.Storage.Postgres;

namespace Stevedore.Benchmarks;

/// <summary>What the benchmarks start themselves: Docker, PostgreSQL, images, and Stevedore hosts in this process.</summary>
public static class BenchEnvironment
{
    public const string Image = "stevedore/busybox:latest";

    public static string RepoRoot { get; } = FindRoot();

    public static string PostgresServer =>
        Environment.GetEnvironmentVariable("STEVEDORE_TEST_POSTGRES") ?? "Host=127.0.0.1;Port=55433;Username=postgres";

    public static async Task ShellAsync(string command)
    {
        var start = new ProcessStartInfo("bash", ["-c", $"source scripts/lib.sh && {command}"]) { WorkingDirectory = RepoRoot };
        using var process = Process.Start(start)!;
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"`{command}` failed with {process.ExitCode}");
        }
    }

    /// <summary>Notes the machine, the Docker Engine and the PostgreSQL server the figures are taken on.</summary>
    public static async Task NoteMachineAsync()
    {
        await ShellAsync("ensure_docker && ensure_postgres");
        using var engine = new EngineBaseline();
        await using var server = NpgsqlDataSource.Create(PostgresServer);
        await DropEarlierAsync(server);
        await using var version = server.CreateCommand("SELECT current_setting('server_version') || ', fsync=' || current_setting('fsync') || ', synchronous_commit=' || current_setting('synchronous_commit')");
        MachineState.NoteMachine(await engine.VersionAsync(), (string?)await version.ExecuteScalarAsync());
    }

    /// <summary>A fresh database with the schema, on the benchmark PostgreSQL (fsync on, the server's default).</summary>
    public static async Task<string> FreshDatabaseAsync(string prefix)
    {
        await ShellAsync("ensure_postgres");
        var name = $"{prefix}_{Guid.NewGuid().ToString("N")[..8]}";
        await using (var server = NpgsqlDataSource.Create(PostgresServer))
        {
            await using var create = server.CreateCommand($"CREATE DATABASE {name}");
            await create.ExecuteNonQueryAsync();
        }

        var connectionString = new NpgsqlConnectionStringBuilder(PostgresServer) { Database = name, MaxPoolSize = 100 }.ConnectionString;
        await using var db = NpgsqlDataSource.Create(connectionString);
        await PostgresSchema.MigrateAsync(db);
        return connectionString;
    }

    /// <summary>
    /// Drops the databases earlier runs left (every scenario makes fresh ones, named <c>bench_…</c>), so repeated runs do
    /// not fill the server; called once, as a run starts. One still in use (another benchmark running beside this one)
    /// has connections, is refused, and is kept.
    /// </summary>
    private static async Task DropEarlierAsync(NpgsqlDataSource server)
    {
        const string prefix = "bench";
        var earlier = new List<string>();
        await using (var list = server.CreateCommand("SELECT datname FROM pg_database WHERE datname LIKE $1"))
        {
            list.Parameters.AddWithValue(prefix + "\\_%");
            await using var reader = await list.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                earlier.Add(reader.GetString(0));
            }
        }

        foreach (var db in earlier)
        {
            try
            {
                await using var drop = server.CreateCommand($"DROP DATABASE IF EXISTS \"{db}\"");
                await drop.ExecuteNonQueryAsync();
            }
            catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.ObjectInUse)
            {
            }
        }
    }

    /// <summary>Starts a Stevedore host in this process on free ports.</summary>
    public static async Task<WebApplication> StartHostAsync(Dictionary<string, string?> settings)
    {
        var all = new Dictionary<string, string?>
        {
            ["Kestrel:Endpoints:Http:Url"] = $"http://127.0.0.1:{Names.FreePort()}",
            ["Kestrel:Endpoints:Grpc:Url"] = $"http://127.0.0.1:{Names.FreePort()}",
            ["Orleans:ClusterId"] = "bench-" + Guid.NewGuid().ToString("N")[..8],
            ["Orleans:SiloPort"] = Names.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Orleans:GatewayPort"] = Names.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Logging:LogLevel:Default"] = "Error",
            ["Logging:LogLevel:Orleans"] = "Error",
            ["Logging:LogLevel:Microsoft.Orleans"] = "Error",
        };
        foreach (var (k, v) in settings)
        {
            all[k] = v;
        }

        var app = await StevedoreHost.BuildAsync([], b => b.Configuration.AddInMemoryCollection(all));
        await app.StartAsync();
        return app;
    }

    /// <summary>The host's REST address.</summary>
    public static Uri HttpAddress(WebApplication app) => new(app.Configuration["Kestrel:Endpoints:Http:Url"]!);

    /// <summary>The host's gRPC address.</summary>
    public static Uri GrpcAddress(WebApplication app) => new(app.Configuration["Kestrel:Endpoints:Grpc:Url"]!);

    /// <summary>CPU time this process has used so far (user and system, all threads).</summary>
    public static TimeSpan ProcessCpu()
    {
        using var self = Process.GetCurrentProcess();
        return self.TotalProcessorTime;
    }

    /// <summary>
    /// A full, compacting collection before a measured run (outside its clock), so that a run does not pay for the
    /// garbage of the runs before it — every contender in this process (Stevedore, Hangfire, grain calls) alike.
    /// </summary>
    public static void Quiesce()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
    }

    public static long RssBytes()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
            }
        }

        return Environment.WorkingSet;
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

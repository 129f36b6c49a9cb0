using System.Diagnostics;
using System.Net;
using Npgsql;
using Stevedore.IntegrationTests.Storage;
using Stevedore.Storage.Postgres;

namespace Stevedore.IntegrationTests.Cluster;

/// <summary>Settings that cannot work, and a database that goes away: clear errors, no lost task, no crash loop.</summary>
[Collection(ClusterCollection.Name)]
public class PostgresOutageTests
{
    [Fact]
    public async Task MalformedConnectionString_StopsTheHostAtOnce_NamingTheKey()
    {
        await using var silo = SiloProcess.Launch("Host=127.0.0.1;Bogus Key=1", Names.Unique("c"));
        Assert.Equal(2, await silo.WaitExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("ConnectionStrings:Postgres", silo.Output);
        Assert.DoesNotContain("   at ", silo.Output);
    }

    [Fact]
    public async Task DatabaseDownAtStart_IsWaitedFor_ThenTheHostStopsWithAClearError()
    {
        await using var silo = SiloProcess.Launch("Host=127.0.0.1;Port=1;Username=postgres;Timeout=1", Names.Unique("c"),
            "--Stevedore:Postgres:StartupTimeout=00:00:03");
        Assert.Equal(2, await silo.WaitExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("Waiting for PostgreSQL at 127.0.0.1:1", silo.Output);
        Assert.Contains("did not answer within 3 s", silo.Output);
    }

    [Fact]
    public async Task DatabaseWithoutSchema_StopsTheHost_NamingTheMigrateCommand()
    {
        await using var db = new TestDatabase { Migrate = false };
        await db.InitializeAsync();
        await using var silo = SiloProcess.Launch(db.ConnectionString, Names.Unique("c"));
        Assert.Equal(2, await silo.WaitExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("migrate", silo.Output);

        // The migrate subcommand itself, twice.
        for (var i = 0; i < 2; i++)
        {
            var migrate = Process.Start(new ProcessStartInfo("dotnet", [SiloProcess.HostDll, "migrate", $"--ConnectionStrings:Postgres={db.ConnectionString}"])
            {
                RedirectStandardOutput = true,
            })!;
            var text = await migrate.StandardOutput.ReadToEndAsync();
            await migrate.WaitForExitAsync();
            Assert.Equal(0, migrate.ExitCode);
            Assert.Contains($"version {PostgresSchema.CurrentVersion}", text);
        }

        await using var started = await SiloProcess.StartAsync(db.ConnectionString, Names.Unique("c"));
        Assert.Equal(HttpStatusCode.OK, (await started.Http.GetAsync("/v1/jobs")).StatusCode);
    }

    [Fact]
    public async Task DatabaseDownForAWhileDuringARun_LosesNoTask_AndTheSiloStaysUp()
    {
        const int port = 55434;
        await Scripts.RunAsync($"pg_instance start {port}");
        try
        {
            var server = $"Host=127.0.0.1;Port={port};Username=postgres";
            var name = "outage_" + Guid.NewGuid().ToString("N")[..8];
            await using (var admin = NpgsqlDataSource.Create(server))
            {
                await using var create = admin.CreateCommand($"CREATE DATABASE {name}");
                await create.ExecuteNonQueryAsync();
            }

            var connectionString = $"{server};Database={name}";
            await using (var data = NpgsqlDataSource.Create(connectionString))
            {
                await PostgresSchema.MigrateAsync(data);
            }

            NpgsqlConnection.ClearAllPools();
            await using var silo = await SiloProcess.StartAsync(connectionString, Names.Unique("c"), "--Stevedore:Queue:LeaseDuration=00:00:30");
            var job = Names.Unique("outage");
            await silo.PutJobAsync(job, new { image = StevedoreServer.Image, command = new[] { "sh", "-c", "sleep 4; echo survived" } });
            var ids = new List<string>();
            for (var i = 0; i < 3; i++)
            {
                ids.Add(await silo.EnqueueAsync(job));
            }

            var deadline = Stopwatch.StartNew();
            while ((await silo.GetTaskAsync(ids[0])).GetProperty("status").GetString() != "running")
            {
                Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(30));
                await Task.Delay(50);
            }

            await Scripts.RunAsync($"pg_instance stop {port}");
            // While the database is away, calls that need it fail with 503, not 500, and the silo stays up.
            var during = await silo.Http.PostAsync($"/v1/jobs/{job}/tasks", new StringContent("{}", System.Text.Encoding.UTF8, "application/json"));
            Assert.True(during.StatusCode is HttpStatusCode.ServiceUnavailable or HttpStatusCode.Accepted, $"{during.StatusCode}: {await during.Content.ReadAsStringAsync()}");
            if (during.StatusCode == HttpStatusCode.Accepted)
            {
                ids.Add((await System.Net.Http.Json.HttpContentJsonExtensions.ReadFromJsonAsync<System.Text.Json.JsonElement>(during.Content)).GetProperty("id").GetString()!);
            }

            var health = await silo.Http.GetAsync("/healthz");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
            Assert.Contains("postgres", await health.Content.ReadAsStringAsync());
            await Task.Delay(TimeSpan.FromSeconds(6)); // the outage itself: nothing to wait for but time
            Assert.False(silo.HasExited, silo.Output);
            await Scripts.RunAsync($"pg_instance start {port}");

            var tasks = await silo.WaitAllEndedAsync(ids, seconds: 180);
            Assert.Equal(HttpStatusCode.OK, (await silo.Http.GetAsync("/healthz")).StatusCode);
            Assert.All(tasks, t => Assert.Equal("succeeded", t.GetProperty("status").GetString()));
            Assert.False(silo.HasExited);
            Assert.Contains("survived", await silo.Http.GetStringAsync($"/v1/tasks/{ids[0]}/log"));
        }
        finally
        {
            await Scripts.RunAsync($"pg_instance stop {port} || true");
        }
    }
}

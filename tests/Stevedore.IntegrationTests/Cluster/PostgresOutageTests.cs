using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
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
        await using var pg = await PrivatePostgres.StartAsync();
        var connectionString = await pg.CreateDatabaseAsync();
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

        await pg.StopAsync();
        // While the database is away, calls that need it fail with 503, not 500, and the silo stays up.
        var during = await silo.Http.PostAsync($"/v1/jobs/{job}/tasks", new StringContent("{}"));
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
        await pg.StartAgainAsync();

        var tasks = await silo.WaitAllEndedAsync(ids, seconds: 180);
        Assert.Equal(HttpStatusCode.OK, (await silo.Http.GetAsync("/healthz")).StatusCode);
        Assert.All(tasks, t => Assert.Equal("succeeded", t.GetProperty("status").GetString()));
        Assert.False(silo.HasExited);
        Assert.Contains("survived", await silo.Http.GetStringAsync($"/v1/tasks/{ids[0]}/log"));
    }

    [Fact]
    public async Task DatabaseRestartUnderLoad_CostsSome503s_NeverASiloNorATask()
    {
        await using var pg = await PrivatePostgres.StartAsync();
        var connectionString = await pg.CreateDatabaseAsync();
        var cluster = Names.Unique("c");
        await using var a = await SiloProcess.StartAsync(connectionString, cluster);
        await using var b = await SiloProcess.StartAsync(connectionString, cluster);
        var job = Names.Unique("restart");
        await a.PutJobAsync(job, new { image = StevedoreServer.Image, command = new[] { "sh", "-c", "sleep 8; echo ran" } });
        // Clients enqueue into a paused job: their tasks only need to be stored.
        var held = Names.Unique("held");
        await a.PutJobAsync(held, new { image = StevedoreServer.Image });
        Assert.True((await a.Http.PostAsync($"/v1/jobs/{held}/pause", null)).IsSuccessStatusCode);
        var accepted = new ConcurrentBag<string>();
        var first = await a.EnqueueAsync(job);
        var ids = new ConcurrentBag<string> { first };
        for (var i = 1; i < 8; i++)
        {
            ids.Add(await (i % 2 == 0 ? a : b).EnqueueAsync(job));
        }

        // Clients keep calling both silos through the restart: every answer is a success or a 503 that says when to
        // try again, never a 500.
        var answers = new ConcurrentQueue<string>();
        using var stop = new CancellationTokenSource();
        var clients = new[] { a, b }.Select(silo => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                foreach (var (method, path) in new[] { ("POST", $"/v1/jobs/{held}/tasks"), ("GET", $"/v1/tasks/{first}"), ("GET", "/v1/tasks?limit=5") })
                {
                    using var request = new HttpRequestMessage(new HttpMethod(method), path);
                    if (method == "POST")
                    {
                        request.Content = new StringContent("{}", System.Text.Encoding.UTF8, "application/json");
                    }

                    HttpResponseMessage response;
                    try
                    {
                        response = await silo.Http.SendAsync(request);
                    }
                    catch (HttpRequestException ex)
                    {
                        answers.Enqueue($"{method} {path}: no answer ({ex.Message})");
                        continue;
                    }

                    var code = (int)response.StatusCode;
                    if (code == 202)
                    {
                        accepted.Add((await response.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("id").GetString()!);
                    }
                    else if (code >= 300 && !(code == 503 && response.Headers.RetryAfter is not null))
                    {
                        answers.Enqueue($"{method} {path}: {code} {await response.Content.ReadAsStringAsync()}");
                    }
                }

                await Task.Delay(50);
            }
        })).ToList();

        await a.WaitRunningAsync(first);
        await pg.StopAsync();
        var health = await a.Http.GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
        Assert.NotNull(health.Headers.RetryAfter);
        await Task.Delay(TimeSpan.FromSeconds(4)); // the outage itself: nothing to wait for but time
        await pg.StartAgainAsync();
        await a.WaitHealthyAsync();
        await b.WaitHealthyAsync();
        await Task.Delay(TimeSpan.FromSeconds(2)); // clients keep calling a little after the database is back
        await stop.CancelAsync();
        await Task.WhenAll(clients);

        Assert.False(a.HasExited, a.Output);
        Assert.False(b.HasExited, b.Output);
        Assert.Empty(answers);
        var tasks = await a.WaitAllEndedAsync(ids, seconds: 180);
        Assert.All(tasks, t => Assert.Equal("succeeded", t.GetProperty("status").GetString()));
        // Leases that could not be renewed while the database was away are not taken for dead workers.
        Assert.All(tasks, t => Assert.Equal(1, t.GetProperty("attempts").GetArrayLength()));
        Assert.NotEmpty(accepted);
        foreach (var id in accepted)
        {
            Assert.Equal("queued", (await b.GetTaskAsync(id)).GetProperty("status").GetString());
        }
    }
}

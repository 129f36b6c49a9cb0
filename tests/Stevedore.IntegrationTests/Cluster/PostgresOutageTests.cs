using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;
using Stevedore.IntegrationTests.Storage;
using Stevedore.Storage.Postgres;

namespace Stevedore.IntegrationTests.Cluster;

[CollectionDefinition(Name)]
public sealed class DatabaseCollection
{
    public const string Name = "database settings and outages";
}

/// <summary>Settings that cannot work, and a database that goes away: clear errors, no lost task, no crash loop.</summary>
[Collection(DatabaseCollection.Name)]
public class PostgresOutageTests
{
    private static readonly TimeSpan s_exitDeadline = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task MalformedConnectionString_StopsTheHostAtOnce_NamingTheKey()
    {
        await using var silo = SiloProcess.Launch("Host=127.0.0.1;Bogus Key=1", Names.Unique("c"));
        Assert.Equal(2, await silo.WaitExitAsync(s_exitDeadline));
        Assert.Contains("ConnectionStrings:Postgres", silo.Output);
        Assert.DoesNotContain("   at ", silo.Output);
    }

    [Fact]
    public async Task DatabaseDownAtStart_IsWaitedFor_ThenTheHostStopsWithAClearError()
    {
        await using var silo = SiloProcess.Launch("Host=127.0.0.1;Port=1;Username=postgres;Timeout=1", Names.Unique("c"),
            "--Stevedore:Postgres:StartupTimeout=00:00:03");
        Assert.Equal(2, await silo.WaitExitAsync(s_exitDeadline));
        Assert.Contains("Waiting for PostgreSQL at 127.0.0.1:1", silo.Output);
        Assert.Contains("did not answer within 3 s", silo.Output);
    }

    public enum BadDatabase
    {
        UnknownUser,
        MissingDatabase,
        SchemaNewerThanTheBuild,
    }

    [Theory]
    [InlineData(BadDatabase.UnknownUser, "refused the credentials")]
    [InlineData(BadDatabase.MissingDatabase, "has no such database")]
    [InlineData(BadDatabase.SchemaNewerThanTheBuild, "newer than this build knows")]
    public async Task DatabaseThatCannotWork_StopsTheHostWithExitCode2_SayingWhy(BadDatabase bad, string expected)
    {
        await using var db = new TestDatabase();
        await db.InitializeAsync();
        var connectionString = new NpgsqlConnectionStringBuilder(db.ConnectionString);
        switch (bad)
        {
            case BadDatabase.UnknownUser:
                connectionString.Username = Names.Unique("nobody").Replace('-', '_');
                break;
            case BadDatabase.MissingDatabase:
                connectionString.Database = Names.Unique("missing").Replace('-', '_');
                break;
            case BadDatabase.SchemaNewerThanTheBuild:
                await using (var newer = db.DataSource.CreateCommand($"INSERT INTO stevedore_schema (version) VALUES ({PostgresSchema.CurrentVersion + 1})"))
                {
                    await newer.ExecuteNonQueryAsync();
                }

                break;
        }

        await using var silo = SiloProcess.Launch(connectionString.ConnectionString, Names.Unique("c"));

        Assert.Equal(2, await silo.WaitExitAsync(s_exitDeadline));
        Assert.Contains(expected, silo.Output);
        Assert.DoesNotContain("   at ", silo.Output);
    }

    [Fact]
    public async Task DatabaseWithoutSchema_StopsTheHost_NamingTheMigrateCommand()
    {
        await using var db = new TestDatabase { Migrate = false };
        await db.InitializeAsync();
        await using (var silo = SiloProcess.Launch(db.ConnectionString, Names.Unique("c")))
        {
            Assert.Equal(2, await silo.WaitExitAsync(s_exitDeadline));
            Assert.Contains("migrate", silo.Output);
        }

        // The migrate subcommand itself, twice.
        for (var i = 0; i < 2; i++)
        {
            var (exitCode, text) = await SiloProcess.RunCommandAsync(TimeSpan.FromMinutes(2), "migrate", $"--ConnectionStrings:Postgres={db.ConnectionString}");
            Assert.True(exitCode == 0, text);
            Assert.Contains($"version {PostgresSchema.CurrentVersion}", text);
        }

        await using var started = await SiloProcess.StartAsync(db.ConnectionString, Names.Unique("c"));
        Assert.Equal(HttpStatusCode.OK, (await started.Http.GetAsync("/v1/jobs")).StatusCode);
    }

    [Fact]
    public async Task DatabaseDownForLongerThanALease_LosesNoTask_RunsNoneTwice_AndTheSiloStaysUp()
    {
        // A PostgreSQL of the test's own: the shared one is never stopped.
        await using var postgres = new OwnPostgres();
        await postgres.StartAsync();
        var connectionString = await postgres.CreateDatabaseAsync();
        await using var silo = await SiloProcess.StartAsync(connectionString, Names.Unique("c"), "--Stevedore:Queue:LeaseDuration=00:00:03");
        var job = Names.Unique("outage");
        await silo.PutJobAsync(job, new { image = StevedoreServer.Image, command = new[] { "sh", "-c", "echo started; sleep 6; echo survived" } });
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            ids.Add(await silo.EnqueueAsync(job));
        }

        await silo.WaitForTaskAsync(ids[0], t => TaskJson.Status(t) == "running", "to run");

        await postgres.StopAsync();
        // While the database is away, calls that need it fail with 503, not 500, and the silo stays up.
        var during = await silo.Http.PostAsync($"/v1/jobs/{job}/tasks", new StringContent("{}", System.Text.Encoding.UTF8, "application/json"));
        var problem = await during.Content.ReadAsStringAsync();
        Assert.True(during.StatusCode == HttpStatusCode.ServiceUnavailable, $"{(int)during.StatusCode}: {problem}");
        Assert.Equal("application/problem+json", during.Content.Headers.ContentType?.MediaType);
        Assert.Contains("Try again shortly", JsonDocument.Parse(problem).RootElement.GetProperty("detail").GetString());
        var health = await silo.Http.GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
        Assert.Contains("postgres", await health.Content.ReadAsStringAsync());
        // The outage outlasts the lease: the node fails to renew its leases for four rounds of a third of a lease.
        await Wait.UntilAsync(() => Occurrences(silo.Output, "Renewing or reaping leases") >= 4,
            "the node to fail renewing its leases for longer than a lease");
        Assert.False(silo.HasExited, silo.Output);
        await postgres.StartAsync();

        var tasks = await silo.WaitAllEndedAsync(ids, seconds: 180);
        await TaskJson.WaitHealthyAsync(silo.Http, "the host, with its database back");
        Assert.All(tasks, t => Assert.Equal("succeeded", TaskJson.Status(t)));
        // The node kept its running tasks through the outage: none was taken for lost and run again.
        Assert.All(tasks, t => Assert.Equal(1, t.GetProperty("attempts").GetArrayLength()));
        Assert.False(silo.HasExited);
        Assert.Equal("started\nsurvived\n", await silo.Http.GetStringAsync($"/v1/tasks/{ids[0]}/log"));
        var stats = await silo.Http.GetFromJsonAsync<JsonElement>($"/v1/jobs/{job}/stats");
        Assert.Equal(3, stats.GetProperty("counts").GetProperty("succeeded").GetInt64());
    }

    [Fact]
    public async Task DatabaseRestartUnderLoad_CostsSome503s_NeverASiloNorATask()
    {
        await using var pg = new OwnPostgres();
        await pg.StartAsync();
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

        await a.WaitForTaskAsync(first, t => TaskJson.Status(t) == "running", "to run");
        await pg.StopAsync();
        var health = await a.Http.GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
        Assert.NotNull(health.Headers.RetryAfter);
        await Task.Delay(TimeSpan.FromSeconds(4)); // the outage itself: nothing to wait for but time
        await pg.StartAsync();
        await a.WaitHealthyAsync();
        await b.WaitHealthyAsync();
        await Task.Delay(TimeSpan.FromSeconds(2)); // clients keep calling a little after the database is back
        await stop.CancelAsync();
        await Task.WhenAll(clients);

        Assert.False(a.HasExited, a.Output);
        Assert.False(b.HasExited, b.Output);
        Assert.Empty(answers);
        var tasks = await a.WaitAllEndedAsync(ids, seconds: 180);
        Assert.All(tasks, t => Assert.Equal("succeeded", TaskJson.Status(t)));
        // Leases that could not be renewed while the database was away are not taken for dead workers.
        Assert.All(tasks, t => Assert.True(t.GetProperty("attempts").GetArrayLength() == 1,
            $"{t}\n--- silo a:\n{a.Output}\n--- silo b:\n{b.Output}"));
        Assert.NotEmpty(accepted);
        foreach (var id in accepted)
        {
            Assert.Equal("queued", (await b.GetTaskAsync(id)).GetProperty("status").GetString());
        }
    }

    private static int Occurrences(string text, string what)
    {
        var count = 0;
        for (var at = text.IndexOf(what, StringComparison.Ordinal); at >= 0; at = text.IndexOf(what, at + what.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }
}

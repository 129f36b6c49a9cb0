using System.Net;
using Npgsql;
using Stevedore.IntegrationTests.Storage;
using Xunit.Abstractions;

namespace Stevedore.IntegrationTests.Security;

/// <summary>On PostgreSQL, log followers share the database work: many followers cost about what one does.</summary>
public class PostgresFollowerTests(PostgresServer server, ITestOutputHelper output) : IClassFixture<PostgresServer>
{
    /// <summary>Transactions the host's database has committed (every statement outside a transaction is one).</summary>
    private async Task<long> CommitsAsync()
    {
        await using var admin = NpgsqlDataSource.Create(TestDatabase.ServerConnectionString);
        // A new connection reads a fresh snapshot of the cumulative statistics.
        await using var command = admin.CreateCommand("SELECT xact_commit FROM pg_stat_database WHERE datname = $1");
        command.Parameters.AddWithValue(server.Database.Name);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private async Task<long> CommitsDuringAsync(TimeSpan window)
    {
        // PostgreSQL publishes a backend's counts at most once a second; wait that out on both ends of the window.
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        var before = await CommitsAsync();
        await Task.Delay(window);
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        return await CommitsAsync() - before;
    }

    [Fact]
    public async Task ThirtyFollowers_DoNotMultiplyTheQueries()
    {
        var job = Names.Unique("pgfollow");
        await server.PutJobAsync(job, new { image = StevedoreServer.Image, command = new[] { "sh", "-c", "echo started; sleep 120" } });
        var ids = new[] { await server.EnqueueAsync(job), await server.EnqueueAsync(job) };
        var followers = new List<HttpResponseMessage>();
        try
        {
            await Wait.UntilAsync(async () => (await server.Http.GetStringAsync($"/v1/tasks/{ids[1]}/log")).Contains("started", StringComparison.Ordinal),
                "both tasks to be running and printing");
            var idle = await CommitsDuringAsync(TimeSpan.FromSeconds(4));

            for (var i = 0; i < 30; i++)
            {
                var response = await server.Http.GetAsync($"/v1/tasks/{ids[i % 2]}/log?follow=true", HttpCompletionOption.ResponseHeadersRead);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                followers.Add(response);
            }

            var following = await CommitsDuringAsync(TimeSpan.FromSeconds(4));

            output.WriteLine($"commits in 7 s: {idle} with no follower, {following} with 30");
            // Before followers shared a watch, each polled about six times a second: 30 × 6 × 7 s ≈ 1,260 more.
            // Shared: one log poll for the node (5/s) and one status read per followed task (1/s each) ≈ 50 more, plus the
            // followers' first reads, which PostgreSQL may report late (an idle backend publishes its counts within 10 s).
            Assert.True(following - idle < 300, $"{following} commits while 30 followers waited vs {idle} with none (windows of 7 s)");
        }
        finally
        {
            followers.ForEach(f => f.Dispose());
            foreach (var id in ids)
            {
                await server.Http.PostAsync($"/v1/tasks/{id}/cancel", null);
            }
        }
    }
}

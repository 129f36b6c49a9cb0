using NpgsqlTypes;
using Stevedore.Storage.Postgres;

namespace Stevedore.IntegrationTests.Storage;

/// <summary>Jobs stored before a field existed still read, with the field's default.</summary>
public sealed class JobRowCompatibilityTests(TestDatabase db) : IClassFixture<TestDatabase>
{
    [Fact]
    public async Task AJobStoredBeforeTheHardeningFields_ReadsWithTheirDefaults()
    {
        var name = Names.Unique("old-row");
        // The row as a store without capabilities, user and readOnlyRootFilesystem wrote it.
        await using (var insert = db.DataSource.CreateCommand("INSERT INTO stevedore_jobs (name, job, updated_at) VALUES ($1, $2, now())"))
        {
            insert.Parameters.AddWithValue(name);
            insert.Parameters.AddWithValue(NpgsqlDbType.Jsonb,
                $$"""{"name":"{{name}}","spec":{"image":"busybox","env":{},"timeoutSeconds":60,"memoryMb":256,"cpus":1,"maxConcurrency":0,"retries":0,"retryDelaySeconds":10,"retryBackoff":2,"network":"bridge","priority":0},"version":3,"createdAt":"2026-01-01T00:00:00+00:00","updatedAt":"2026-01-01T00:00:00+00:00","paused":false}""");
            await insert.ExecuteNonQueryAsync();
        }

        var job = (await new PostgresJobStore(db.DataSource).GetAsync(name))!;

        Assert.Equal((3, "busybox", 60), (job.Version, job.Spec.Image, job.Spec.TimeoutSeconds));
        Assert.Empty(job.Spec.Capabilities);
        Assert.Null(job.Spec.User);
        Assert.False(job.Spec.ReadOnlyRootFilesystem);
    }
}

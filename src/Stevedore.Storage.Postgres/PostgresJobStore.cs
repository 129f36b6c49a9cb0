using Npgsql;
using NpgsqlTypes;

namespace Stevedore.Storage.Postgres;

public sealed class PostgresJobStore(NpgsqlDataSource db) : IJobStore
{
    public async Task<JobInfo?> GetAsync(string name, CancellationToken cancellationToken = default)
    {
        await using var command = db.CreateCommand("SELECT job FROM stevedore_jobs WHERE name = $1");
        command.Parameters.AddWithValue(name);
        return await command.ExecuteScalarAsync(cancellationToken) is string json ? StoreJson.Deserialize<JobInfo>(json) : null;
    }

    public async Task UpsertAsync(JobInfo job, CancellationToken cancellationToken = default)
    {
        await using var command = db.CreateCommand(
            "INSERT INTO stevedore_jobs (name, job, updated_at) VALUES ($1, $2, $3) " +
            "ON CONFLICT (name) DO UPDATE SET job = EXCLUDED.job, updated_at = EXCLUDED.updated_at");
        command.Parameters.AddWithValue(job.Name);
        command.Parameters.AddWithValue(NpgsqlDbType.Jsonb, StoreJson.Serialize(job));
        command.Parameters.AddWithValue(job.UpdatedAt.UtcDateTime);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<bool> DeleteAsync(string name, CancellationToken cancellationToken = default)
    {
        await using var command = db.CreateCommand("DELETE FROM stevedore_jobs WHERE name = $1");
        command.Parameters.AddWithValue(name);
        return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
    }

    public async Task<IReadOnlyList<JobInfo>> ListAsync(CancellationToken cancellationToken = default)
    {
        await using var command = db.CreateCommand("SELECT job FROM stevedore_jobs ORDER BY name");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var jobs = new List<JobInfo>();
        while (await reader.ReadAsync(cancellationToken))
        {
            jobs.Add(StoreJson.Deserialize<JobInfo>(reader.GetString(0)));
        }

        return jobs;
    }

    public async Task<IReadOnlyList<string>> ListSubscribersAsync(string topic, CancellationToken cancellationToken = default)
    {
        // Answered by the GIN index on the definition's subscriptions (0002_triggers.sql).
        await using var command = db.CreateCommand("SELECT name FROM stevedore_jobs WHERE job -> 'spec' -> 'subscriptions' ? $1 ORDER BY name");
        command.Parameters.AddWithValue(topic);
        return await Commands.ReadStringsAsync(command, cancellationToken);
    }
}

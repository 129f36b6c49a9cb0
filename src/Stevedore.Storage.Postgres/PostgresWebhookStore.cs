using Npgsql;
using NpgsqlTypes;

namespace Stevedore.Storage.Postgres;

/// <summary>Webhooks in <c>stevedore_webhooks</c> (the secret's hash, never the secret).</summary>
public sealed class PostgresWebhookStore(NpgsqlDataSource db) : IWebhookStore
{
    private const string Columns = "id, job, secret_hash, headers, created_at";

    public async Task InsertAsync(WebhookRecord hook, CancellationToken cancellationToken = default)
    {
        await using var command = db.CreateCommand($"INSERT INTO stevedore_webhooks ({Columns}) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING");
        command.Parameters.AddWithValue(hook.Id);
        command.Parameters.AddWithValue(hook.Job);
        command.Parameters.AddWithValue(hook.SecretHash);
        command.Parameters.AddWithValue(NpgsqlDbType.Jsonb, StoreJson.Serialize(hook.Headers));
        command.Parameters.AddWithValue(hook.CreatedAt.UtcDateTime);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<WebhookRecord?> GetAsync(string id, CancellationToken cancellationToken = default)
    {
        await using var command = db.CreateCommand($"SELECT {Columns} FROM stevedore_webhooks WHERE id = $1");
        command.Parameters.AddWithValue(id);
        return (await ReadAsync(command, cancellationToken)).FirstOrDefault();
    }

    public async Task<IReadOnlyList<WebhookRecord>> ListByJobAsync(string job, CancellationToken cancellationToken = default)
    {
        await using var command = db.CreateCommand($"SELECT {Columns} FROM stevedore_webhooks WHERE job = $1 ORDER BY created_at, id");
        command.Parameters.AddWithValue(job);
        return await ReadAsync(command, cancellationToken);
    }

    public async Task<bool> DeleteAsync(string id, CancellationToken cancellationToken = default)
    {
        await using var command = db.CreateCommand("DELETE FROM stevedore_webhooks WHERE id = $1");
        command.Parameters.AddWithValue(id);
        return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
    }

    private static async Task<List<WebhookRecord>> ReadAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var hooks = new List<WebhookRecord>();
        while (await reader.ReadAsync(cancellationToken))
        {
            hooks.Add(new WebhookRecord
            {
                Id = reader.GetString(0),
                Job = reader.GetString(1),
                SecretHash = reader.GetFieldValue<byte[]>(2),
                Headers = StoreJson.Deserialize<List<string>>(reader.GetString(3)),
                CreatedAt = reader.GetFieldValue<DateTimeOffset>(4),
            });
        }

        return hooks;
    }
}

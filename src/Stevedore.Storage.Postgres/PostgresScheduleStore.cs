using Npgsql;

namespace Stevedore.Storage.Postgres;

/// <summary>The schedule index in <c>stevedore_schedules</c>.</summary>
public sealed class PostgresScheduleStore(NpgsqlDataSource db) : IScheduleStore
{
    public async Task InsertAsync(ScheduleEntry schedule, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken = default)
    {
        await using var command = db.CreateCommand(
            "INSERT INTO stevedore_schedules (id, job, created_at, payload) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING");
        command.Parameters.AddWithValue(schedule.Id);
        command.Parameters.AddWithValue(schedule.Job);
        command.Parameters.AddWithValue(schedule.CreatedAt.UtcDateTime);
        command.Parameters.AddWithValue(payload.ToArray());
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<ScheduleEntry>> ListByJobAsync(string job, CancellationToken cancellationToken = default)
    {
        await using var command = db.CreateCommand("SELECT id, job, created_at FROM stevedore_schedules WHERE job = $1 ORDER BY created_at, id");
        command.Parameters.AddWithValue(job);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var list = new List<ScheduleEntry>();
        while (await reader.ReadAsync(cancellationToken))
        {
            list.Add(new ScheduleEntry(reader.GetString(0), reader.GetString(1), reader.GetFieldValue<DateTimeOffset>(2)));
        }

        return list;
    }

    public async Task<ReadOnlyMemory<byte>?> GetPayloadAsync(string id, CancellationToken cancellationToken = default)
    {
        await using var command = db.CreateCommand("SELECT payload FROM stevedore_schedules WHERE id = $1");
        command.Parameters.AddWithValue(id);
        return await command.ExecuteScalarAsync(cancellationToken) is byte[] payload ? payload : (ReadOnlyMemory<byte>?)null;
    }

    public async Task<bool> DeleteAsync(string id, CancellationToken cancellationToken = default)
    {
        await using var command = db.CreateCommand("DELETE FROM stevedore_schedules WHERE id = $1");
        command.Parameters.AddWithValue(id);
        return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
    }

    public async Task SetSiloAsync(string id, string? silo, CancellationToken cancellationToken = default)
    {
        await using var command = db.CreateCommand("UPDATE stevedore_schedules SET silo = $2 WHERE id = $1 AND silo IS DISTINCT FROM $2");
        command.Parameters.AddWithValue(id);
        command.Parameters.Add(new NpgsqlParameter<string?> { TypedValue = silo, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<string>> ListBySiloAsync(string silo, CancellationToken cancellationToken = default)
    {
        await using var command = db.CreateCommand("SELECT id FROM stevedore_schedules WHERE silo = $1");
        command.Parameters.AddWithValue(silo);
        return await Commands.ReadStringsAsync(command, cancellationToken);
    }
}

using System.Globalization;
using System.Reflection;
using Npgsql;

namespace Stevedore.Storage.Postgres;

/// <summary>
/// Creates and upgrades every table Stevedore and Orleans need: the Orleans ADO.NET provider schema
/// (<c>deploy/sql/orleans.sql</c>, idempotent, applied on every migration) and Stevedore's own versioned scripts
/// (<c>deploy/sql/stevedore/NNNN_name.sql</c>), all in one transaction under an advisory lock.
/// </summary>
public static class PostgresSchema
{
    private const long MigrationLock = 0x5354_4556_4544_4f52; // "STEVEDOR"

    /// <summary>The schema version this build needs: the number of its newest script.</summary>
    public static int CurrentVersion { get; } = Scripts().Max(s => s.Version);

    public static async Task<int> MigrateAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await ExecuteAsync(connection, $"SELECT pg_advisory_xact_lock({MigrationLock})", cancellationToken);
        await ExecuteAsync(connection, Read("sql/orleans.sql"), cancellationToken);
        await ExecuteAsync(connection,
            "CREATE TABLE IF NOT EXISTS stevedore_schema (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
            cancellationToken);
        var version = await VersionAsync(connection, cancellationToken) ?? 0;
        foreach (var script in Scripts().Where(s => s.Version > version).OrderBy(s => s.Version))
        {
            await ExecuteAsync(connection, Read(script.Resource), cancellationToken);
            await ExecuteAsync(connection, $"INSERT INTO stevedore_schema (version) VALUES ({script.Version})", cancellationToken);
            version = script.Version;
        }

        await transaction.CommitAsync(cancellationToken);
        return version;
    }

    /// <summary>Null when the database holds the schema this build needs; otherwise what is wrong and what to run.</summary>
    public static async Task<string?> CheckAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        int? version;
        try
        {
            version = await VersionAsync(connection, cancellationToken);
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UndefinedTable)
        {
            version = null;
        }

        return version switch
        {
            null => $"the database '{connection.Database}' has no Stevedore schema: run `dotnet Stevedore.Host.dll migrate` (or `dotnet run --project src/Stevedore.Host -- migrate`) with the same settings first",
            var v when v < CurrentVersion => $"the database '{connection.Database}' holds Stevedore schema version {v}, this build needs {CurrentVersion}: run `dotnet Stevedore.Host.dll migrate` first",
            var v when v > CurrentVersion => $"the database '{connection.Database}' holds Stevedore schema version {v}, newer than this build knows ({CurrentVersion}): run a newer Stevedore",
            _ => null,
        };
    }

    private static async Task<int?> VersionAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT max(version) FROM stevedore_schema", connection);
        var value = await command.ExecuteScalarAsync(cancellationToken);
        return value is int v ? v : null;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>The versioned scripts; two with one number (branches that each added "the next" one) are refused.</summary>
    private static IReadOnlyList<(int Version, string Resource)> Scripts()
    {
        var scripts = typeof(PostgresSchema).Assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith("sql/stevedore/", StringComparison.Ordinal))
            .Select(n => (Version: int.Parse(n["sql/stevedore/".Length..].Split('_')[0], CultureInfo.InvariantCulture), Resource: n))
            .ToList();
        var shared = scripts.GroupBy(s => s.Version).FirstOrDefault(g => g.Count() > 1);
        if (shared is not null)
        {
            throw new InvalidOperationException(
                $"Schema scripts {string.Join(" and ", shared.Select(s => s.Resource))} share version {shared.Key}: give each its own number.");
        }

        return scripts;
    }

    private static string Read(string resource)
    {
        using var stream = typeof(PostgresSchema).Assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"Missing embedded script {resource}.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}

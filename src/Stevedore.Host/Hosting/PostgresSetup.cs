using System.Net.Sockets;
using Npgsql;
using Stevedore.Storage.Postgres;

namespace Stevedore.Host.Hosting;

/// <summary>Reading the PostgreSQL settings, waiting for the server, and checking the schema before a silo starts.</summary>
public static partial class PostgresSetup
{
    public const string ConnectionStringKey = "ConnectionStrings:Postgres";
    public const string StartupTimeoutKey = "Stevedore:Postgres:StartupTimeout";

    public static string ConnectionString(IConfiguration config)
    {
        var text = config[ConnectionStringKey];
        if (string.IsNullOrWhiteSpace(text))
        {
            throw new StartupException(
                $"{ConnectionStringKey} is required with Stevedore:Storage=Postgres, e.g. \"Host=127.0.0.1;Port=5432;Database=stevedore;Username=stevedore;Password=…\" (env ConnectionStrings__Postgres).");
        }

        try
        {
            var builder = new NpgsqlConnectionStringBuilder(text);
            if (string.IsNullOrEmpty(builder.Host))
            {
                throw new ArgumentException("it names no Host");
            }
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or KeyNotFoundException)
        {
            throw new StartupException($"{ConnectionStringKey} is not a valid Npgsql connection string: {ex.Message}");
        }

        return text;
    }

    /// <summary>
    /// Waits for the database to answer (it may be starting alongside us) for at most the startup timeout, then
    /// checks that it holds the schema this build needs.
    /// </summary>
    public static async Task EnsureReadyAsync(NpgsqlDataSource dataSource, IConfiguration config, ILogger logger, bool checkSchema = true)
    {
        var timeout = config.GetValue(StartupTimeoutKey, TimeSpan.FromSeconds(60));
        var deadline = DateTime.UtcNow + timeout;
        var where = Describe(dataSource.ConnectionString);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await using var connection = await dataSource.OpenConnectionAsync();
                break;
            }
            catch (PostgresException ex) when (ex.SqlState is PostgresErrorCodes.InvalidPassword or PostgresErrorCodes.InvalidAuthorizationSpecification)
            {
                throw new StartupException($"PostgreSQL at {where} refused the credentials in {ConnectionStringKey}: {ex.MessageText}");
            }
            catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.InvalidCatalogName)
            {
                throw new StartupException($"PostgreSQL at {where} has no such database: {ex.MessageText}. Create it (CREATE DATABASE …) and run `dotnet Stevedore.Host.dll migrate`.");
            }
            catch (Exception ex) when (IsUnreachable(ex))
            {
                if (DateTime.UtcNow >= deadline)
                {
                    throw new StartupException(
                        $"PostgreSQL at {where} did not answer within {timeout.TotalSeconds:0} s ({StartupTimeoutKey}): {ex.Message}");
                }

                LogWaiting(logger, where, attempt, ex.Message);
                await Task.Delay(TimeSpan.FromSeconds(Math.Min(5, attempt)));
            }
        }

        if (checkSchema && await PostgresSchema.CheckAsync(dataSource) is { } problem)
        {
            throw new StartupException($"Cannot start: {problem}.");
        }
    }

    public static bool IsUnreachable(Exception ex) =>
        ex is NpgsqlException { IsTransient: true } or SocketException or TimeoutException
        || ex is NpgsqlException { InnerException: SocketException or IOException or TimeoutException };

    private static string Describe(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        return $"{builder.Host}:{builder.Port}/{builder.Database ?? builder.Username}";
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Waiting for PostgreSQL at {Where} (try {Attempt}): {Reason}")]
    private static partial void LogWaiting(ILogger logger, string where, int attempt, string reason);
}

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

            return WithDefaults(text, builder);
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or KeyNotFoundException)
        {
            throw new StartupException($"{ConnectionStringKey} is not a valid Npgsql connection string: {ex.Message}");
        }
    }

    /// <summary>
    /// Npgsql settings Stevedore uses unless the connection string sets them itself. Every statement on the task path
    /// runs thousands of times a second, so Npgsql prepares each after its second use (<c>Max Auto Prepare</c>,
    /// <c>Auto Prepare Min Usages</c>): the server parses and plans it once per connection instead of on every call. A
    /// connection going back to the pool is not reset (<c>No Reset On Close</c>): Stevedore leaves no session state
    /// behind (no <c>SET</c>, <c>LISTEN</c> or session lock), and a reset would drop the prepared statements.
    /// </summary>
    public static string WithDefaults(string text, NpgsqlConnectionStringBuilder builder)
    {
        var given = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = text }.Keys
            .Cast<string>().Select(k => k.Replace(" ", "", StringComparison.Ordinal)).ToHashSet(StringComparer.OrdinalIgnoreCase);
        if (!given.Contains("MaxAutoPrepare"))
        {
            builder.MaxAutoPrepare = 64;
        }

        if (!given.Contains("AutoPrepareMinUsages"))
        {
            builder.AutoPrepareMinUsages = 2;
        }

        if (!given.Contains("NoResetOnClose"))
        {
            builder.NoResetOnClose = true;
        }

        return builder.ConnectionString;
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

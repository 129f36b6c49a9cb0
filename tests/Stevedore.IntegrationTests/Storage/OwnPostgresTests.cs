using System.Runtime.Versioning;
using Npgsql;

namespace Stevedore.IntegrationTests.Storage;

public class OwnPostgresTests
{
    /// <summary>
    /// CI may clone the repository where only root can enter: PostgreSQL runs as user postgres, so neither its
    /// folders nor the folder the scripts run from may depend on where the checkout or the state folder is.
    /// </summary>
    [Fact]
    [SupportedOSPlatform("linux")]
    public async Task APostgresOfItsOwn_Starts_FromAFolderOnlyRootCanEnter()
    {
        var locked = Directory.CreateTempSubdirectory("stevedore-root-only-");
        try
        {
            File.SetUnixFileMode(locked.FullName, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            await using var postgres = new OwnPostgres(
                workingDirectory: locked.FullName,
                environment: new Dictionary<string, string> { ["STEVEDORE_STATE"] = Path.Combine(locked.FullName, "state") });

            await postgres.StartAsync();

            await using var server = NpgsqlDataSource.Create(postgres.ConnectionString);
            await using var query = server.CreateCommand("SELECT current_setting('port')");
            Assert.Equal(postgres.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), await query.ExecuteScalarAsync());
        }
        finally
        {
            locked.Delete(recursive: true);
        }
    }
}

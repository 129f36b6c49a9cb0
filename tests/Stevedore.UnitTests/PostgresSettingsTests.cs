using Microsoft.Extensions.Configuration;
using Npgsql;
using Stevedore.Host.Hosting;

namespace Stevedore.UnitTests;

/// <summary>The Npgsql settings Stevedore adds to a connection string, and that a user's own always win.</summary>
public sealed class PostgresSettingsTests
{
    private static NpgsqlConnectionStringBuilder Read(string connectionString) =>
        new(PostgresSetup.ConnectionString(new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { [PostgresSetup.ConnectionStringKey] = connectionString })
            .Build()));

    [Fact]
    public void AConnectionStringWithoutThem_GetsPreparedStatementsAndNoResetOnClose()
    {
        var settings = Read("Host=db.example;Port=5433;Database=jobs;Username=app;Password=secret");

        Assert.Equal(64, settings.MaxAutoPrepare);
        Assert.Equal(2, settings.AutoPrepareMinUsages);
        Assert.True(settings.NoResetOnClose);
        // Everything the user gave is kept.
        Assert.Equal(("db.example", 5433, "jobs", "app"), (settings.Host, settings.Port, settings.Database, settings.Username));
        Assert.Equal("secret", settings.Password);
    }

    [Theory]
    [InlineData("Host=h;Max Auto Prepare=0;Auto Prepare Min Usages=5;No Reset On Close=false")]
    [InlineData("Host=h;maxautoprepare=0;AUTOPREPAREMINUSAGES=5;noresetonclose=false")]
    public void SettingsTheUserGives_AreKept_HoweverSpelled(string connectionString)
    {
        var settings = Read(connectionString);

        Assert.Equal(0, settings.MaxAutoPrepare);
        Assert.Equal(5, settings.AutoPrepareMinUsages);
        Assert.False(settings.NoResetOnClose);
    }

    [Theory]
    [InlineData("Port=5432;Database=jobs")]
    [InlineData("Host=h;Max Auto Prepare=lots")]
    [InlineData("Host=h;No Such Setting=1")]
    public void AnInvalidConnectionString_IsRefusedAtStartup(string connectionString)
    {
        var ex = Assert.Throws<StartupException>(() => Read(connectionString));
        Assert.Contains("not a valid Npgsql connection string", ex.Message, StringComparison.Ordinal);
    }
}

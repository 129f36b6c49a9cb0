using Microsoft.Extensions.Configuration;
using Stevedore.Host.Hosting;

namespace Stevedore.IntegrationTests;

/// <summary>A server that copies task files through the engine API, as it does with a remote engine.</summary>
public sealed class CopyModeServer : StevedoreServer
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Stevedore:Docker:TaskFiles"] = "copy",
        ["Stevedore:Worker:Slots"] = "2",
    };
}

public class CopyModeTests(CopyModeServer server) : TaskFileTests(server), IClassFixture<CopyModeServer>;

public class StartupRefusalTests
{
    [Theory]
    [InlineData("Stevedore:Storage", "Mongo", "Stevedore:Storage")]
    [InlineData("Stevedore:Auth:AdminToken", "short", "at least 16")]
    [InlineData("Orleans:SiloPort", "70000", "Orleans:SiloPort")]
    [InlineData("Stevedore:Storage", "Postgres", "ConnectionStrings:Postgres")]
    public async Task BadSettings_StopTheHost_NamingTheKey(string key, string value, string expected)
    {
        var ex = await Assert.ThrowsAsync<StartupException>(() => StevedoreHost.BuildAsync([], b =>
            b.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Kestrel:Endpoints:Http:Url"] = "http://127.0.0.1:0",
                [key] = value,
            })));
        Assert.Contains(expected, ex.Message);
    }
}

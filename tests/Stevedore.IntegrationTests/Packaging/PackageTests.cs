using System.Diagnostics;
using System.IO.Compression;
using System.Xml.Linq;

namespace Stevedore.IntegrationTests.Packaging;

/// <summary>
/// <c>dotnet pack</c> of the client library (with its contract and XML docs) and of the CLI (a dotnet tool), from the
/// build these tests run on (<c>--no-build</c>, a few seconds), into a temporary folder; then the packed tool is run.
/// </summary>
public sealed class PackageTests(PackageTests.Packed packed) : IClassFixture<PackageTests.Packed>
{
    private readonly string _output = packed.Output;

    /// <summary>The three packages, packed once for the class.</summary>
    public sealed class Packed : IAsyncLifetime
    {
        public string Output { get; } = Path.Combine(Path.GetTempPath(), "stevedore-pack-" + Guid.NewGuid().ToString("N")[..8]);

        public async Task InitializeAsync()
        {
            // tests/Stevedore.IntegrationTests/bin/<Configuration>/net10.0: pack what that configuration built.
            var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;
            foreach (var project in new[] { "Stevedore.Protos", "Stevedore.Client", "Stevedore.Cli" })
            {
                var run = await RunAsync("dotnet", "pack", Path.Combine(Scripts.RepoRoot, "src", project), "-c", configuration, "--no-build",
                    "-o", Output, "-nologo", "-v", "quiet");
                Assert.True(run.ExitCode == 0, $"dotnet pack {project} failed: {run.Output}");
            }
        }

        public Task DisposeAsync()
        {
            Directory.Delete(Output, recursive: true);
            return Task.CompletedTask;
        }
    }

    [Fact]
    public void TheClientPackage_HoldsTheLibraryAndItsXmlDocs_AndDependsOnTheContract()
    {
        using var package = Open("Stevedore.Client");
        var files = Files(package);
        Assert.Contains("lib/net10.0/Stevedore.Client.dll", files);
        var docs = XDocument.Load(package.GetEntry("lib/net10.0/Stevedore.Client.xml")!.Open());
        var documented = docs.Descendants("member").Select(m => (string)m.Attribute("name")!).ToHashSet();
        foreach (var member in new[] { "QueueAsync", "RunAsync", "CreateScheduleAsync", "ListSchedulesAsync", "CreateWebhookAsync", "PublishEventAsync" })
        {
            Assert.Contains(documented, name => name.StartsWith($"M:Stevedore.Client.StevedoreClient.{member}", StringComparison.Ordinal));
        }

        var dependencies = Nuspec(package).Descendants().Where(e => e.Name.LocalName == "dependency").Select(e => (string)e.Attribute("id")!).ToList();
        Assert.Contains("Stevedore.Protos", dependencies);
        Assert.Contains("Grpc.Net.Client", dependencies);
    }

    [Fact]
    public void TheContractPackage_HoldsTheProtoFiles_AndTheMessagesWithTheirDocs()
    {
        using var package = Open("Stevedore.Protos");
        var files = Files(package);
        Assert.Contains("lib/net10.0/Stevedore.Protos.dll", files);
        Assert.Contains("lib/net10.0/Stevedore.Protos.xml", files);
        foreach (var proto in new[] { "types", "jobs", "tasks", "schedules", "webhooks", "events" })
        {
            Assert.Contains($"protos/stevedore/v1/{proto}.proto", files);
        }
    }

    [Fact]
    public async Task TheCliPackage_IsADotnetToolNamedStevedore_ThatRuns()
    {
        using (var package = Open("Stevedore.Cli"))
        {
            Assert.Contains(Nuspec(package).Descendants(), e => e.Name.LocalName == "packageType" && (string?)e.Attribute("name") == "DotnetTool");
            var settings = XDocument.Load(package.GetEntry("tools/net10.0/any/DotnetToolSettings.xml")!.Open());
            var command = Assert.Single(settings.Descendants("Command"));
            Assert.Equal(("stevedore", "stevedore.dll"), ((string)command.Attribute("Name")!, (string)command.Attribute("EntryPoint")!));
            package.ExtractToDirectory(Path.Combine(_output, "cli"));
        }

        // The packed tool itself, as `dotnet tool install` would run it.
        var help = await RunAsync("dotnet", Path.Combine(_output, "cli", "tools", "net10.0", "any", "stevedore.dll"), "schedule", "--help");
        Assert.True(help.ExitCode == 0, help.Output);
        Assert.Contains("create", help.Output);
    }

    private ZipArchive Open(string id) =>
        ZipFile.OpenRead(Assert.Single(Directory.GetFiles(_output, $"{id}.*.nupkg"), f => char.IsDigit(Path.GetFileName(f)[id.Length + 1])));

    private static HashSet<string> Files(ZipArchive package) => package.Entries.Select(e => e.FullName).ToHashSet();

    private static XDocument Nuspec(ZipArchive package) => XDocument.Load(package.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open());

    private static async Task<(int ExitCode, string Output)> RunAsync(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }
}

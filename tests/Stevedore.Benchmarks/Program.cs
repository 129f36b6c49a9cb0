using System.Diagnostics;
using Stevedore.Benchmarks;

// dotnet run -c Release --project tests/Stevedore.Benchmarks -- [cold|parallel|control|hangfire|memory|grpc|fire|all] [--quick]
var quick = args.Contains("--quick");
var scenario = args.FirstOrDefault(a => !a.StartsWith("--", StringComparison.Ordinal)) ?? "all";
var known = new[] { "cold", "parallel", "control", "control-memory", "hangfire", "memory", "grpc", "fire", "all" };
if (!known.Contains(scenario))
{
    Console.Error.WriteLine($"unknown scenario '{scenario}'; use one of: {string.Join(", ", known)}");
    return 2;
}

Report.Note($"Stevedore benchmarks ({(quick ? "quick" : "full")}), {Environment.ProcessorCount} cores, {GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1 << 30)} GiB, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}");
var sw = Stopwatch.StartNew();
bool Runs(string name) => scenario == "all" || scenario == name;
if (Runs("cold"))
{
    await ContainerScenarios.ColdAsync(quick);
}

if (Runs("parallel"))
{
    await ContainerScenarios.ParallelAsync(quick);
}

if (Runs("control"))
{
    await ControlPlaneScenarios.ControlAsync(quick);
}

if (scenario == "control-memory")
{
    await ControlPlaneScenarios.ControlAsync(quick, memoryOnly: true);
}

if (Runs("hangfire"))
{
    await HangfireScenario.RunAsync(quick);
}

if (Runs("memory"))
{
    await ControlPlaneScenarios.MemoryAsync(quick);
}

if (Runs("grpc"))
{
    await GrpcScenarios.RunAsync(quick);
}

if (Runs("fire"))
{
    await TriggerScenarios.FiringAsync(quick);
}

Summary.Print();
Report.Note($"done in {sw.Elapsed.TotalSeconds:0} s");
return 0;

using System.Diagnostics;
using Stevedore.Benchmarks;

// dotnet run -c Release --project tests/Stevedore.Benchmarks -- [scenario] [--quick]
var quick = args.Contains("--quick");
var scenario = args.FirstOrDefault(a => !a.StartsWith("--", StringComparison.Ordinal)) ?? "all";
var scenarios = new (string Name, Func<Task> Run)[]
{
    ("cold", () => ContainerScenarios.ColdAsync(quick)),
    ("parallel", () => ContainerScenarios.ParallelAsync(quick)),
    ("hot", () => HotScenario.RunAsync(quick)),
    ("control-memory", () => ControlPlaneScenarios.MemoryAsync(quick)),
    ("control-postgres", () => ControlPostgresScenario.RunAsync(quick)),
    ("enqueue", () => EnqueueScenario.RunAsync(quick)),
    ("memory", () => ControlPlaneScenarios.QueuedMemoryAsync(quick)),
    ("grpc", () => GrpcScenarios.RunAsync(quick)),
    ("fire", () => TriggerScenarios.FiringAsync(quick)),
    ("ops", () => OperationsScenario.RunAsync(quick)),
};
bool Runs(string name) => scenario == "all" || scenario == name || (scenario == "control" && name.StartsWith("control-", StringComparison.Ordinal));
if (!scenarios.Any(s => Runs(s.Name)))
{
    Console.Error.WriteLine($"unknown scenario '{scenario}'; use one of: {string.Join(", ", scenarios.Select(s => s.Name))}, control (both control-*), all");
    return 2;
}

Report.Note($"Stevedore benchmarks ({(quick ? "quick" : "full")}), {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC");
await BenchEnvironment.NoteMachineAsync();
var sw = Stopwatch.StartNew();
foreach (var (name, run) in scenarios.Where(s => Runs(s.Name)))
{
    await run();
    MachineState.NoteSince(name);
}

Summary.Print();
Report.Note($"done in {sw.Elapsed.TotalSeconds:0} s");
return 0;

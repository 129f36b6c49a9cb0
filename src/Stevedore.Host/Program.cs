using Stevedore.Host.Hosting;

var app = StevedoreHost.Build(args);
await app.RunAsync();

/// <summary>The entry point, visible to tests.</summary>
public partial class Program;

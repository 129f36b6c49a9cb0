using Spectre.Console.Cli;
using Stevedore.Cli;

using var interrupted = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    // The first Ctrl+C stops the command cleanly; a second one kills the process.
    e.Cancel = !interrupted.IsCancellationRequested;
    interrupted.Cancel();
};

var app = new CommandApp();
app.Configure(Commands.Configure);
return await app.RunAsync(Commands.MarkStandardInput(args), interrupted.Token);

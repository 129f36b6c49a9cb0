using Docker.DotNet;
using Stevedore.Execution.Docker.TaskFiles;

namespace Stevedore.Execution.Docker.Spares;

/// <summary>One pre-started container: its id, task folder and attach stream, and where its output goes.</summary>
internal sealed class Spare(string id, ISpareFolder folder, MultiplexedStream stream, string job, List<KeyValuePair<string, string?>> shell)
{
    /// <summary>What the shim's shell changed of the container's environment, and the values to put back (<see cref="SpareShim.ShellVariables"/>).</summary>
    public List<KeyValuePair<string, string?>> Shell { get; } = shell;

    public string Id { get; } = id;
    public ISpareFolder Folder { get; } = folder;
    public MultiplexedStream Stream { get; } = stream;
    public string Job { get; } = job;
    public SpareOutput Output { get; } = new();
    public Task Pump { get; set; } = Task.CompletedTask;

    /// <summary>Set under the pool's lock when a task took it.</summary>
    public bool Taken { get; set; }

    /// <summary>Set under the pool's lock when its output stream ended: its container is gone or going.</summary>
    public bool Ended { get; set; }
}

/// <summary>Output of a spare: dropped until its task comes (the shim writes nothing), then that task's log.</summary>
internal sealed class SpareOutput : ITaskLogWriter
{
    private volatile ITaskLogWriter? _target;

    public ITaskLogWriter? Target { get => _target; set => _target = value; }

    public void Write(Storage.LogStream stream, ReadOnlySpan<byte> data) => _target?.Write(stream, data);
}

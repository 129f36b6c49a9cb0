using Docker.DotNet.Models;

namespace Stevedore.Execution.Docker.TaskFiles;

/// <summary>
/// How an attempt's container gets its payload file (<see cref="ContainerRunRequest.PayloadPath"/>) and gives back its
/// result file (<see cref="ContainerRunRequest.ResultPath"/>): through a folder on the host bind-mounted at
/// /stevedore (<see cref="BindMountedTaskFiles"/>), or copied through the engine API (<see cref="CopiedTaskFiles"/>).
/// </summary>
public interface ITaskFiles
{
    /// <summary>Prepares one attempt's files on the host side, before its container is created.</summary>
    ITaskFolder Prepare(ContainerRunRequest request);

    /// <summary>Removes what attempts of <paramref name="node"/> left on the host when its process died.</summary>
    void RemoveLeftovers(string node);
}

/// <summary>
/// One attempt's task files. Disposing removes whatever they left on the host; the driver does so after it removed the
/// container.
/// </summary>
public interface ITaskFolder : IDisposable
{
    /// <summary>Adds what the container needs to see its task files (a mount) to its create parameters.</summary>
    void Configure(CreateContainerParameters container);

    /// <summary>Puts the payload in, between create and start.</summary>
    Task BeforeStartAsync(string containerId, CancellationToken cancellationToken);

    /// <summary>
    /// The result file after the container exited, or null when there is none or it cannot be kept (the task's log
    /// says why).
    /// </summary>
    Task<ReadOnlyMemory<byte>?> ReadResultAsync(string containerId, ITaskLogWriter log);

    /// <summary>After the container exited: the folder's limit in bytes when the job filled it, else null.</summary>
    long? FullAt();
}

/// <summary>The task folder of a spare container, mounted before its task is known.</summary>
public interface ISpareFolder : ITaskFolder
{
    /// <summary>Sizes the folder for its task and writes the payload file and the env file the shim reads.</summary>
    void Assign(ReadOnlySpan<byte> payload, string envScript);

    /// <summary>After the container ended: true when its shim never took the task (its env file is still there).</summary>
    bool NotTaken();
}

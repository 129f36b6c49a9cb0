using Docker.DotNet.Models;
using Microsoft.Extensions.Logging;

namespace Stevedore.Execution.Docker.TaskFiles;

/// <summary>
/// Task files in a per-attempt folder under <see cref="DockerOptions.TaskFilesPath"/>, bind-mounted at /stevedore: no
/// file crosses the engine API. Needs the engine to see the host's paths (a local engine).
/// </summary>
public sealed partial class BindMountedTaskFiles(DockerOptions options, ILogger logger) : ITaskFiles
{
    public ITaskFolder Prepare(ContainerRunRequest request)
    {
        var folder = Path.Combine(options.TaskFilesPath, $"{request.TaskId}-{request.Attempt}");
        Directory.CreateDirectory(folder);
        var payload = Path.Combine(folder, "payload");
        File.WriteAllBytes(payload, request.Payload.ToArray());
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(folder, (UnixFileMode)0x1FF);
            File.SetUnixFileMode(payload, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        }

        return new Folder(folder, options.MaxResultBytes, logger);
    }

    private sealed class Folder(string path, int maxResultBytes, ILogger logger) : ITaskFolder
    {
        public void Configure(CreateContainerParameters container) => container.HostConfig.Binds = [$"{path}:/stevedore"];

        public Task BeforeStartAsync(string containerId, CancellationToken cancellationToken) => Task.CompletedTask;

        public Task<ReadOnlyMemory<byte>?> ReadResultAsync(string containerId, ITaskLogWriter log)
        {
            var file = new FileInfo(Path.Combine(path, "result"));
            if (!file.Exists || file.Attributes.HasFlag(FileAttributes.Directory))
            {
                return Task.FromResult<ReadOnlyMemory<byte>?>(null);
            }

            return Task.FromResult<ReadOnlyMemory<byte>?>(ResultFile.TooLarge(file.Length, maxResultBytes, log) ? null : File.ReadAllBytes(file.FullName));
        }

        public void Dispose()
        {
            try
            {
                Directory.Delete(path, recursive: true);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                LogRemoveFailed(logger, path, ex.Message);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Task folder {Folder} could not be removed: {Reason}")]
    private static partial void LogRemoveFailed(ILogger logger, string folder, string reason);
}

using System.Formats.Tar;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace Stevedore.Execution.Docker.TaskFiles;

/// <summary>Task files copied into and out of the container through the engine API: works with any engine, local or remote.</summary>
public sealed class CopiedTaskFiles(DockerClient client, DockerOptions options) : ITaskFiles
{
    public ITaskFolder Prepare(ContainerRunRequest request) => new Folder(client, request.Payload, options.MaxResultBytes);

    private sealed class Folder(DockerClient client, ReadOnlyMemory<byte> payload, int maxResultBytes) : ITaskFolder
    {
        public void Configure(CreateContainerParameters container)
        {
        }

        public async Task BeforeStartAsync(string containerId, CancellationToken cancellationToken)
        {
            using var tar = new MemoryStream();
            await using (var writer = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
            {
                // World-writable, so a job running as any user can write its result file there.
                writer.WriteEntry(new PaxTarEntry(TarEntryType.Directory, "stevedore/")
                {
                    Mode = (UnixFileMode)0x1FF,
                    ModificationTime = DateTimeOffset.UtcNow,
                });
                writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "stevedore/payload")
                {
                    Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
                    ModificationTime = DateTimeOffset.UtcNow,
                    DataStream = new MemoryStream(payload.ToArray()),
                });
            }

            tar.Position = 0;
            await client.Containers.ExtractArchiveToContainerAsync(containerId, new ContainerPathStatParameters { Path = "/" }, tar, cancellationToken);
        }

        public async Task<ReadOnlyMemory<byte>?> ReadResultAsync(string containerId, ITaskLogWriter log)
        {
            GetArchiveFromContainerResponse archive;
            try
            {
                archive = await client.Containers.GetArchiveFromContainerAsync(
                    containerId, new GetArchiveFromContainerParameters { Path = ContainerRunRequest.ResultPath }, statOnly: false, CancellationToken.None);
            }
            catch (DockerContainerNotFoundException)
            {
                return null;
            }
            catch (DockerApiException ex) when (ex.StatusCode == System.Net.HttpStatusCode.NotFound)
            {
                return null;
            }

            await using var tarStream = archive.Stream;
            using var reader = new TarReader(tarStream);
            var entry = await reader.GetNextEntryAsync(copyData: false);
            if (entry?.DataStream is null || entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile))
            {
                return null;
            }

            if (ResultFile.TooLarge(entry.Length, maxResultBytes, log))
            {
                return null;
            }

            using var copy = new MemoryStream((int)entry.Length);
            await entry.DataStream.CopyToAsync(copy);
            return copy.ToArray();
        }

        public void Dispose()
        {
        }
    }
}
